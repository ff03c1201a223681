"""tw_ly_legislators on the replay: the captured LYAPI legislator responses (the list capture
verbatim for its own query, other pages derived from the two captured records)."""

from __future__ import annotations

import asyncio
import json

import pytest

from billtracker.replay import ReplayServer
from scrapers.health import TermDrift
from scrapers.items import LegislatorItem, ProblemItem
from scrapers.tw_ly.legislators import TwLyLegislatorsSpider
from tests.source_helpers import fetched, of, response_from, spider_for


def crawl(spider: TwLyLegislatorsSpider) -> list:
    async def start() -> list:
        return [r async for r in spider.start()]

    out, queue = [], asyncio.run(start())
    while queue:
        request = queue.pop(0)
        for result in request.callback(fetched(request), **request.cb_kwargs):
            (queue if hasattr(result, "callback") else out).append(result)
    return out


@pytest.fixture(scope="module")
def people(replay: ReplayServer) -> list:
    spider = spider_for(
        TwLyLegislatorsSpider,
        TW_LY_API_BASE=f"{replay.base_url}/v2",
        TW_LY_LEGISLATOR_TERMS=[11],
        TW_LY_PAGE_LIMIT=1,
    )
    return crawl(spider)


def test_pages_through_the_term(people: list) -> None:
    items = of(LegislatorItem, people)
    assert [(i.term, i.name_raw, i.source) for i in items] == [
        ("11", "吳春城", "lyapi"),
        ("11", "韓國瑜", "lyapi"),
    ]
    assert of(ProblemItem, people) == []


def test_fields(people: list) -> None:
    han = [i for i in of(LegislatorItem, people) if i.name_raw == "韓國瑜"][0]
    assert (han.ename, han.party) == ("Kuo-Yu Han", "中國國民黨")
    assert han.record["歷屆立法委員編號"] and han.provenance.source_url.endswith("page=2&limit=1")


def test_the_capture_answers_its_own_query(replay: ReplayServer, samples_dir) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    url = f"{replay.base_url}/v2/legislators?屆=11&page=1&limit=1".replace("屆", "%E5%B1%86")
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = resp.read()
    assert body == (samples_dir / "ly.govapi.tw_v2/ly-mcp_legislators_list.json").read_bytes()


def test_empty_page_is_an_error() -> None:
    spider = spider_for(TwLyLegislatorsSpider)
    body = json.dumps({"total": 0, "total_page": 0, "legislators": []}).encode()
    response = response_from("https://ly.govapi.tw/v2/legislators?屆=11&page=1", body, "application/json")
    assert [p.kind for p in of(ProblemItem, list(spider.parse_list(response, term=11, page=1)))] == [
        "empty-page"
    ]


def test_term_drift() -> None:
    spider = spider_for(TwLyLegislatorsSpider, TRACKED_TERMS=[9], IGNORED_TERMS=[1])
    body = json.dumps(
        {"total_page": 1, "legislators": [{"屆": 12, "委員姓名": "某人"}]}, ensure_ascii=False
    ).encode()
    response = response_from("https://ly.govapi.tw/v2/legislators?屆=12&page=1", body, "application/json")
    with pytest.raises(TermDrift):
        list(spider.parse_list(response, term=12, page=1))
