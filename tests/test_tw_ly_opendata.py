"""tw_ly_opendata on the replay's dataset-20 downloads (DERIVED from the verbatim rows in misq's
proposal_*.json) and the verbatim dataset-9 roster; the name-column quirks one case at a time."""

from __future__ import annotations

import asyncio

import pytest

from billtracker.replay import ReplayServer
from scrapers.health import TermDrift
from scrapers.items import LegislatorItem, ProblemItem, SourceBillItem
from scrapers.tw_ly.opendata import TwLyOpendataSpider, read_json_rows, split_names
from tests.source_helpers import fetched, of, response_from, spider_for


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("葉宜津　　陳明文　　", ["葉宜津", "陳明文"]),
        ("許毓仁　　 ", ["許毓仁"]),  # trailing ASCII space after the padding
        ("陳賴素美　吳焜裕　　", ["陳賴素美", "吳焜裕"]),  # 1051027070200900: four characters + one U+3000
        ("陳　瑩　　王榮璋　　", ["陳瑩", "王榮璋"]),  # 1060519070200500: a centred two-character name
        ("趙正宇　　Kolas Yotaka　　 吳思瑤　　", ["趙正宇", "Kolas Yotaka", "吳思瑤"]),
        # one person or two? only the roster can tell (pipelines/normalise/names.py identities)
        ("鄭天財　Sra．Kacaw　　林為洲", ["鄭天財", "Sra．Kacaw", "林為洲"]),
        ("時代力量黨團　　", ["時代力量黨團"]),
        # issue 10: the corpus' spellings of three legislators, every spacing and middle dot
        ("吳思瑤　　Kolas　　Yotaka　　蕭美琴", ["吳思瑤", "Kolas Yotaka", "蕭美琴"]),
        ("余宛如　　 Kolas\xa0 Yotaka \xa0 鍾佳濱", ["余宛如", "Kolas Yotaka", "鍾佳濱"]),
        ("林為洲　　鄭天財Sra　　Kacaw", ["林為洲", "鄭天財Sra Kacaw"]),
        ("王育敏　　 鄭天財 Sra Kacaw", ["王育敏", "鄭天財", "Sra Kacaw"]),
        ("高潞‧以用‧巴魕剌Kawlo．Iyun．Pacidal　　", ["高潞‧以用‧巴魕剌Kawlo．Iyun．Pacidal"]),
        (
            "高潞．以用．巴魕剌Kawlo．Iyun．Pacidal劉建國",
            ["高潞．以用．巴魕剌Kawlo．Iyun．Pacidal", "劉建國"],
        ),
        ("Kolas Yotaka\r\u3000\u3000王榮璋", ["Kolas Yotaka", "王榮璋"]),
        ("Kolas\u3000\u3000Yotaka王榮璋", ["Kolas Yotaka", "王榮璋"]),
        ("Kawlo．Iyun．Pacidal　　Kolas Yotaka", ["Kawlo．Iyun．Pacidal", "Kolas Yotaka"]),
        ("kolas Yotaka、Kolas‧Yotaka", ["kolas Yotaka", "Kolas‧Yotaka"]),
        ("黃偉哲Kolas Yotaka　　", ["黃偉哲Kolas Yotaka"]),  # two people glued: the roster splits them
        ("\xa0\xa0\xa0\xa0\xa0", []),  # padding only
        # the bill page's description names the proposer (1050914070200200)
        ("本院委員許毓仁等17人", ["許毓仁"]),
        ("本院委員Kolas Yotaka等17人", ["Kolas Yotaka"]),
    ],
)
def test_split_names(text: str, names: list[str]) -> None:
    assert split_names(text) == (names, "")


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("陳明文　　民用航空法增訂第三十七條之一條文草案", "民用航空法增訂第三十七條之一條文草案"),
        ("附錄：外國立法例 1.德國", "附錄：外國立法例 1.德國"),
    ],
)
def test_what_is_not_names_is_returned(text: str, rest: str) -> None:
    assert split_names(text)[1] == rest


def test_name_column_running_into_law_text_is_cut_and_returned() -> None:
    names, rest = split_names("邱志偉　　 國立中正紀念堂管理處組織法 第　一　條　　文化部為辦理")
    assert names == ["邱志偉"] and rest.startswith("國立中正紀念堂管理處組織法")


def test_concatenated_json_objects_and_wrappers() -> None:
    assert read_json_rows('\ufeff{"a": 1}{"a": 2}\n{"jsonList": [{"a": 3}]}[{"a": 4}]'.lstrip("\ufeff")) == [
        {"a": 1},
        {"a": 2},
        {"a": 3},
        {"a": 4},
    ]


@pytest.fixture(scope="module")
def results(replay: ReplayServer) -> dict[str, list]:
    spider = spider_for(TwLyOpendataSpider, TW_LY_OPENDATA_BASE=replay.base_url)
    requests = asyncio.run(_start(spider))
    out: dict[str, list] = {}
    for r in requests:
        key = r.cb_kwargs.get("fmt", "roster")
        out[key] = list(r.callback(fetched(r), **r.cb_kwargs))
    return out


async def _start(spider: TwLyOpendataSpider) -> list:
    return [r async for r in spider.start()]


def test_csv_and_json_give_the_same_27_bills(results: dict[str, list]) -> None:
    csv_items, json_items = of(SourceBillItem, results["CSV"]), of(SourceBillItem, results["JSON"])
    assert len(csv_items) == 27
    assert [(i.key, i.status_raw, i.proposers, i.cosponsors) for i in csv_items] == [
        (i.key, i.status_raw, i.proposers, i.cosponsors) for i in json_items
    ]


def test_cio_bill_row(results: dict[str, list]) -> None:
    [cio] = [i for i in of(SourceBillItem, results["CSV"]) if i.key == "1051006070201100"]
    assert (cio.source, cio.term, cio.status_raw) == ("opendata", "09", "交付審查")
    assert cio.proposers == ["許毓仁"] and len(cio.cosponsors) == 19 and "鄭天財" in cio.cosponsors
    assert cio.record["billOrg"] == "本院委員許毓仁等20人"  # the row kept as published
    assert "" not in cio.record  # the trailing comma's empty column is dropped


def test_status_disagrees_with_misq_for_1061218070201500(results: dict[str, list]) -> None:
    [row] = [i for i in of(SourceBillItem, results["JSON"]) if i.key == "1061218070201500"]
    assert row.status_raw == "交付審查"  # misq's 議案狀態 says 排入院會


def test_spilled_name_column_is_a_problem(results: dict[str, list]) -> None:
    problems = [p for p in of(ProblemItem, results["CSV"]) if p.kind == "not-names"]
    assert [p.bill_no for p in problems] == ["1060519070200500"]


def test_roster(results: dict[str, list]) -> None:
    people = {i.name_raw: i for i in of(LegislatorItem, results["roster"])}
    assert len(people) >= 113
    assert people["鄭天財Sra．Kacaw"].term == "09"
    assert people["谷辣斯．尤達卡Kolas Yotaka"].ename == "Kolas Yotaka"


def test_empty_download_is_an_error() -> None:
    spider = spider_for(TwLyOpendataSpider)
    url = "https://data.ly.gov.tw/odw/usageFile.action?id=20&type=CSV&fname=20_CSV.csv"
    header = "\ufeffterm,billNo,billName,billStatus,\r\n"
    results = list(spider.parse_bills(response_from(url, header.encode(), "text/csv"), fmt="CSV"))
    assert [p.kind for p in of(ProblemItem, results)] == ["empty-page"]


def test_block_page_instead_of_csv() -> None:
    spider = spider_for(TwLyOpendataSpider)
    url = "https://data.ly.gov.tw/odw/usageFile.action?id=20&type=CSV&fname=20_CSV.csv"
    body = "<html><body>Request Rejected. 您的請求已被阻擋</body></html>".encode()
    results = list(spider.parse_bills(response_from(url, body), fmt="CSV"))
    assert [p.kind for p in of(ProblemItem, results)] == ["block-page"] and not of(SourceBillItem, results)


def test_term_drift() -> None:
    spider = spider_for(TwLyOpendataSpider, TRACKED_TERMS=[11], IGNORED_TERMS=[1, 2, 3])
    url = "https://data.ly.gov.tw/odw/usageFile.action?id=20&type=JSON&fname=20_JSON.json"
    body = '{"term": "09", "billNo": "1051006070201100", "billStatus": "交付審查"}'.encode()
    with pytest.raises(TermDrift):
        list(spider.parse_bills(response_from(url, body, "application/json"), fmt="JSON"))


def test_ignored_term_is_skipped_quietly() -> None:
    spider = spider_for(TwLyOpendataSpider, TRACKED_TERMS=[11], IGNORED_TERMS=[9])
    url = "https://data.ly.gov.tw/odw/usageFile.action?id=20&type=JSON&fname=20_JSON.json"
    body = b'{"term": "09", "billNo": "1051006070201100"}{"term": "11", "billNo": "202110213410000"}'
    items = of(
        SourceBillItem, list(spider.parse_bills(response_from(url, body, "application/json"), fmt="JSON"))
    )
    assert [i.key for i in items] == ["202110213410000"]
