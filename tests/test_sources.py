"""SourcePipeline on a real SQLite file: a secondary source's reading in its own rows, no-op when
unchanged (the CSV and JSON downloads of the same row are one reading), never erasing a flow."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import sqlite_utils

from pipelines.store.sources import SourcePipeline, source_bill_rows
from scrapers.items import LawHistoryItem, Provenance, SourceBillItem

CIO = "1051006070201100"


def item(url: str, flow: list[dict] | None = None, status: str = "交付審查") -> SourceBillItem:
    return SourceBillItem(
        source="ppg",
        key=CIO,
        bill_no=CIO,
        provenance=Provenance(url, "2026-11-26T01:00:00Z", "ab" * 32, "tw_ly_ppg"),
        term="09",
        title="「行政院組織法第六條條文修正草案」，請審議案。",
        status_raw=status,
        filed_on_raw="105/10/12",
        proposers=["許毓仁"],
        flow=flow
        if flow is not None
        else [
            {
                "status_raw": "交付審查",
                "dates": ["105/10/14", "105/10/18"],
                "venue": "院會",
                "session_code": "09-02-06",
            },
            {
                "status_raw": "尚未審查",
                "dates": ["106/03/22"],
                "venue": "司法及法制委員會",
                "session_code": "",
            },
        ],
    )


def run(path: Path, *items: object) -> dict[str, int]:
    pipeline = SourcePipeline(str(path))
    pipeline.open_spider()
    for i in items:
        assert pipeline.process_item(i) is i
    pipeline.close_spider()
    return pipeline.counts


def test_rows_are_normalised_but_keep_the_raw_text() -> None:
    bill, stages, problems = source_bill_rows(item("http://x/a"))
    assert (bill["filed_on"], bill["status_stage"], bill["term"]) == ("2016-10-12", "referred", 9)
    assert [(s["stage"], s["on"], s["second_on"], s["status_raw"]) for s in stages] == [
        ("referred", "2016-10-14", "2016-10-18", "交付審查"),
        ("committee-listed", "2017-03-22", None, "尚未審查"),
    ]
    assert problems == []


def test_same_reading_from_another_url_is_a_noop(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    assert run(path, item("http://x/csv"))["source_inserted"] == 1
    assert run(path, item("http://x/json"))["source_noop"] == 1
    [row] = sqlite_utils.Database(path)["source_bills"].rows
    assert row["source_url"] == "http://x/csv"  # provenance of the reading that was stored


def test_changed_reading_updates_and_an_empty_flow_erases_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    run(path, item("http://x/a"))
    assert run(path, item("http://x/a", flow=[], status="三讀"))["source_updated"] == 1
    db = sqlite_utils.Database(path)
    assert [r["status_raw"] for r in db["source_bills"].rows] == ["三讀"]
    assert db["source_stages"].count == 2


def test_unknown_status_in_a_flow_is_a_problem_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    odd = [{"status_raw": "某種新狀態", "dates": ["106/03/22"], "venue": "院會", "session_code": ""}]
    run(path, item("http://x/a", flow=odd))
    run(path, item("http://x/a", flow=odd, status="某種新狀態"))
    [problem] = sqlite_utils.Database(path)["problems"].rows
    assert (problem["kind"], problem["bill_no"], problem["times"]) == ("unknown-stage", CIO, 2)
    assert sqlite_utils.Database(path)["source_stages"].get(("ppg", CIO, 1))["stage"] == "unknown"


def test_law_history_and_versions(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    history = LawHistoryItem(
        "01011",
        "內政部組織法",
        [
            {
                "進度": "三讀",
                "會議日期": "1060526",
                "立法紀錄": "106卷51期 1-2頁",
                "主提案": "",
                "關係文書": [],
            }
        ],
        ["中華民國106年5月26日修正", "中華民國106年6月14日公布"],
        Provenance("http://x/01011.json", "2026-11-26T01:00:00Z", "ab" * 32, "tw_ly_lis"),
    )
    run(path, history)
    db = sqlite_utils.Database(path)
    [entry] = db["law_histories"].rows
    assert (entry["stage"], entry["meeting_on"], entry["gazette_ref"]) == (
        "third-reading",
        "2017-05-26",
        "106卷51期 1-2頁",
    )
    assert [(v["action"], v["on"]) for v in db["lis_law_versions"].rows] == [
        ("修正", "2017-05-26"),
        ("公布", "2017-06-14"),
    ]


def test_one_legislator_under_two_middle_dots_is_one_row(tmp_path: Path) -> None:
    """Dataset 9 writes 高潞．以用．巴魕剌 (U+FF0E), other records 高潞‧以用‧巴魕剌 (U+2027)."""
    from scrapers.items import LegislatorItem

    roster = Provenance("http://x/roster", "2026-11-26T01:00:00Z", "cd" * 32, "tw_ly_opendata")
    path = tmp_path / "l.db"
    run(
        path,
        LegislatorItem(
            "9", "高潞．以用．巴魕剌Kawlo．Iyun．Pacidal", "Kawlo．Iyun．Pacidal", "時代力量", {}, roster
        ),
        LegislatorItem("10", "高潞‧以用‧巴魕剌", "", "", {}, roster, source="lyapi"),
    )
    [row] = sqlite_utils.Database(path)["legislators"].rows
    assert (row["id"], row["terms"]) == ("高潞．以用．巴魕剌", "[9, 10]")
    assert "高潞‧以用‧巴魕剌" in row["aliases"]


def test_a_doubted_source_date_is_not_used_and_is_a_problem() -> None:
    bill, stages, problems = source_bill_rows(
        replace(item("http://x/a"), filed_on_raw="2017-00-00", term="9")
    )
    assert bill["filed_on"] is None and "2017-00-00" not in (bill["filed_on"] or "")
    assert [kind for kind, _ in problems] == ["doubtful-date"]
    assert "impossible date 2017-00-00" in problems[0][1]
