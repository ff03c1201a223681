"""tw_ly_lis on the verbatim lis mirror files the replay serves (kong0107/lis.ly law JSON,
thewayiam/twly_fileHandler's bills_9 extract)."""

from __future__ import annotations

import asyncio

import pytest

from billtracker.jobs.spiders import source_replay_settings
from billtracker.replay import ReplayServer
from scrapers.items import LawHistoryItem, ProblemItem, SourceBillItem
from scrapers.tw_ly.lis import TwLyLisSpider, split_progress, term_of
from tests.source_helpers import fetched, of, response_from, spider_for


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("1060322   委員會審議中", ("1060322", "委員會審議中")),
        ("1051118   三讀", ("1051118", "三讀")),
        ("委員會審議中", ("", "委員會審議中")),
    ],
)
def test_split_progress(text: str, parts: tuple[str, str]) -> None:
    assert split_progress(text) == parts


def test_term_of() -> None:
    assert (term_of("09屆02期06次"), term_of("")) == ("09", "")


@pytest.fixture(scope="module")
def results(replay: ReplayServer) -> list:
    spider = spider_for(TwLyLisSpider, **source_replay_settings(replay.base_url))
    requests = asyncio.run(_start(spider))
    return [x for r in requests for x in r.callback(fetched(r), **r.cb_kwargs)]


async def _start(spider: TwLyLisSpider) -> list:
    return [r async for r in spider.start()]


def test_default_laws_include_the_organisational_laws() -> None:
    spider = spider_for(TwLyLisSpider)
    assert "01010" in spider.settings.getlist("TW_LY_LIS_LAWS")


def test_law_histories(results: list) -> None:
    laws = {i.law_code: i for i in of(LawHistoryItem, results)}
    assert set(laws) == {"01011", "01021", "01050", "01073", "04401"}
    moi = laws["01011"]
    assert moi.name == "內政部組織法"
    first = moi.entries[0]
    assert (first["進度"], first["會議日期"], first["立法紀錄"]) == (
        "一讀",
        "1051014",
        "105卷73期4370號 5-5頁",
    )


def test_cio_bill_progress(results: list) -> None:
    [cio] = [i for i in of(SourceBillItem, results) if i.proposal_no == "70委19631"]
    assert cio.key == "0028282"  # lis' 系統號: one 提案編號 can cover several drafts
    assert cio.bill_no is None and cio.proposal_no == "70委19631"  # resolved later via 提案編號
    assert (cio.status_on_raw, cio.status_raw, cio.filed_on_raw) == ("1060322", "委員會審議中", "1051014")
    assert cio.proposers == ["許毓仁"] and len(cio.cosponsors) == 19


def test_companion_of_merged_review_says_third_reading(results: list) -> None:
    [row] = [i for i in of(SourceBillItem, results) if i.proposal_no == "647委19331"]  # 1050616070200500
    assert (row.status_on_raw, row.status_raw) == ("1051118", "三讀")


def test_every_record_read(results: list) -> None:
    items = of(SourceBillItem, results)
    assert len(items) == 289 == len({i.key for i in items}) and of(ProblemItem, results) == []
    package = [i.title for i in items if i.proposal_no == "70委20031"]  # one 提案編號, two drafts
    assert sorted(package) == [
        "中央行政機關組織基準法第二十九條及第三十條條文修正草案",
        "行政院組織法第三條及第四條條文修正草案",
    ]


def test_missing_history_is_an_error() -> None:
    spider = spider_for(TwLyLisSpider)
    url = "https://raw.githubusercontent.com/kong0107/lis.ly/json/01010.json"
    body = b'{"title": "x", "law_history": []}'
    results = list(spider.parse_law(response_from(url, body, "application/json"), law_code="01010"))
    assert [p.kind for p in of(ProblemItem, results)] == ["empty-page"]
