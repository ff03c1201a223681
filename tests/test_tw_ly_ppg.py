"""tw_ly_ppg on the self-written fixtures in billtracker/replay/fixtures/ppg/ (no raw ppg page exists: see its
README). Both layouts are parsed once at module level; then one-line checks of each fact against
the CIO bill's real record (misq), and the spider's handling of pages that are not data."""

from __future__ import annotations

import asyncio
import json

import pytest

from billtracker.replay import ReplayServer
from billtracker.replay.sources import PPG_FIXTURES as PPG
from scrapers.health import TermDrift
from scrapers.items import FetchItem, ProblemItem, SourceBillItem
from scrapers.tw_ly.ppg import TwLyPpgSpider
from scrapers.tw_ly.ppg_pages import parse_detail
from scrapers.tw_ly.responses import BadBody
from tests.source_helpers import fetched, of, response_from, spider_for

CIO_BILL = "1051006070201100"
OLD = parse_detail((PPG / f"{CIO_BILL}_details.html").read_text(encoding="utf-8"))
NEW = parse_detail((PPG / "1051006070201200_details.html").read_text(encoding="utf-8"))
DETAIL = "https://ppg.ly.gov.tw/ppg/bills/{}/details"


def test_layouts_detected() -> None:
    assert (OLD["layout"], NEW["layout"]) == ("table", "card")


def test_title() -> None:
    assert OLD["title"] == "「行政院組織法第六條條文修正草案」，請審議案。"
    assert NEW["title"] == "「行政院資訊總處組織法草案」，請審議案。"


def test_status_and_filing() -> None:
    assert (OLD["status_raw"], OLD["filed_on_raw"]) == ("交付審查", "105/10/12")
    assert (NEW["status_raw"], NEW["filed_on_raw"]) == ("交付審查", "105年10月12日")


def test_sponsors() -> None:
    for record in (OLD, NEW):
        assert record["proposers"] == ["許毓仁"]
        assert len(record["cosponsors"]) == 19 and "鄭天財Sra．Kacaw" in record["cosponsors"]


def test_old_layout_flow() -> None:
    assert OLD["flow"] == [
        {
            "session_code": "09-02-06",
            "dates": ["105/10/14", "105/10/18"],
            "venue": "院會",
            "status_raw": "排入院會(交司法及法制委員會)",
        },
        {
            "session_code": "09-02-06",
            "dates": ["105/10/14", "105/10/18"],
            "venue": "院會",
            "status_raw": "交付審查",
        },
        {"session_code": "", "dates": ["106/03/22"], "venue": "司法及法制委員會", "status_raw": "尚未審查"},
    ]


def test_card_layout_flow_skips_unrendered_template_rows() -> None:
    assert [(e["status_raw"], e["dates"]) for e in NEW["flow"]] == [
        ("排入院會(交司法及法制委員會)", ["105年10月14日", "105年10月18日"]),
        ("交付審查", ["105年10月14日", "105年10月18日"]),
    ]


@pytest.mark.parametrize("record", [OLD, NEW], ids=["table", "card"])
def test_no_thymeleaf_leftovers(record: dict) -> None:
    text = json.dumps(record, ensure_ascii=False)
    assert "${" not in text and "th:" not in text and "*{" not in text


def test_unknown_layout_is_named() -> None:
    with pytest.raises(BadBody) as err:
        parse_detail("<html><body><p>維護中的頁面</p></body></html>")
    assert err.value.kind == "unknown-layout"


# --- the spider's callbacks -----------------------------------------------------------------


@pytest.fixture(scope="module")
def spider() -> TwLyPpgSpider:
    return spider_for(TwLyPpgSpider)


def detail(spider: TwLyPpgSpider, name: str, bill_no: str = CIO_BILL) -> list:
    response = response_from(DETAIL.format(bill_no), (PPG / name).read_bytes())
    return list(spider.parse_detail(response, bill_no=bill_no, term="09"))


def test_detail_yields_source_item_with_provenance(spider: TwLyPpgSpider) -> None:
    results = detail(spider, f"{CIO_BILL}_details.html")
    [item] = of(SourceBillItem, results)
    assert (item.source, item.key, item.bill_no, item.term) == ("ppg", CIO_BILL, CIO_BILL, "09")
    assert item.provenance.source_url == DETAIL.format(CIO_BILL)
    assert len(item.provenance.content_sha256) == 64 and len(of(FetchItem, results)) == 1


@pytest.mark.parametrize(
    ("name", "kind"),
    [("placeholder.html", "placeholder-page"), ("truncated_details.html", "short-page")],
)
def test_pages_that_are_not_data_are_problems(spider: TwLyPpgSpider, name: str, kind: str) -> None:
    results = detail(spider, name)
    assert of(SourceBillItem, results) == []
    assert [p.kind for p in of(ProblemItem, results)] == [kind]


def test_block_page_with_status_200(spider: TwLyPpgSpider) -> None:
    body = (
        (PPG / f"{CIO_BILL}_details.html")
        .read_text(encoding="utf-8")
        .replace("議案詳細資料</h2>", "議案詳細資料</h2><p>請輸入驗證碼 (captcha)</p>")
    )
    results = list(
        spider.parse_detail(response_from(DETAIL.format(CIO_BILL), body.encode()), bill_no=CIO_BILL)
    )
    assert [p.kind for p in of(ProblemItem, results)] == ["block-page"] and not of(SourceBillItem, results)


def list_response(payload: dict) -> object:
    url = "https://ppg.ly.gov.tw/ppg/api/v1/all-bills?term=09&page=1&size=50"
    return response_from(url, json.dumps(payload, ensure_ascii=False).encode(), "application/json")


def test_list_requests_each_detail_page_with_body_check(spider: TwLyPpgSpider) -> None:
    payload = json.loads((PPG / "all-bills_term09_page1.json").read_text(encoding="utf-8"))
    requests = [
        r for r in spider.parse_list(list_response(payload), term=9, page=1) if hasattr(r, "callback")
    ]
    assert [r.url for r in requests] == [
        DETAIL.format(b) for b in ("1051006070201100", "1051006070201200", "1051006070201300")
    ]
    assert all(r.meta["check_body"]["min_bytes"] == 9000 for r in requests)


def test_empty_first_page_is_an_error(spider: TwLyPpgSpider) -> None:
    payload = {"code": 200, "data": {"total": 0, "page": 1, "size": 50, "list": []}}
    results = list(spider.parse_list(list_response(payload), term=9, page=1))
    assert [p.kind for p in of(ProblemItem, results)] == ["empty-page"]


def test_unconfigured_term_fails_the_crawl(spider: TwLyPpgSpider) -> None:
    payload = {"data": {"total": 1, "page": 1, "size": 50, "list": [{"billNo": "1", "term": "12"}]}}
    with pytest.raises(TermDrift) as err:
        list(spider.parse_list(list_response(payload), term=12, page=1))
    assert "term 12" in err.value.message and "TRACKED_TERMS" in err.value.message
    assert "term 12" in spider.crawler.stats.get_value("billtracker/crawl_failed")


def test_replay_serves_the_fixtures(replay: ReplayServer) -> None:
    spider = spider_for(TwLyPpgSpider, TW_LY_PPG_BASE=replay.base_url, TW_LY_PPG_TERMS=[9])
    [first] = asyncio.run(_start(spider))
    details = [r for r in first.callback(fetched(first), **first.cb_kwargs) if hasattr(r, "callback")]
    items = [i for r in details for i in r.callback(fetched(r), **r.cb_kwargs)]
    assert [i.key for i in of(SourceBillItem, items)] == ["1051006070201100", "1051006070201200"]
    assert [(p.bill_no, p.kind) for p in of(ProblemItem, items)] == [("1051006070201300", "placeholder-page")]


async def _start(spider: TwLyPpgSpider) -> list:
    return [r async for r in spider.start()]
