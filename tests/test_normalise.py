"""normalise_bill on the replay's records (derived from the real samples) and the real v2 capture."""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from billtracker.replay import ReplayData, load_replay
from pipelines.normalise.bill_record import DERIVED_SEQ, NormalisedBill, content_hash, normalise_bill
from pipelines.store.pipeline import StorePipeline
from scrapers.items import BillItem, Provenance

TODAY = date(2026, 11, 26)
CIO_BILL = "1051006070201100"
CAPTURED_BILL = "202110213410000"


@pytest.fixture(scope="module")
def replay_data(samples_dir: Path) -> ReplayData:
    return load_replay(samples_dir)


def item(bill_no: str, record: dict[str, Any]) -> BillItem:
    prov = Provenance(f"http://replay/v2/bills/{bill_no}", "2026-11-26T01:02:03Z", "ab" * 32, "tw_ly_bills")
    return BillItem(bill_no, record, prov)


def norm(replay_data: ReplayData, bill_no: str, **changes: Any) -> NormalisedBill:
    record = copy.deepcopy(replay_data.bills[bill_no])
    record.update(changes)
    return normalise_bill(item(bill_no, record), TODAY)


def by_stage(n: NormalisedBill, slug: str) -> dict[str, Any]:
    rows = [r for r in n.stages if r["stage"] == slug]
    assert len(rows) == 1, (slug, [r["stage"] for r in n.stages])
    return rows[0]


# --- the CIO bill ----------------------------------------------------------------------------


def test_cio_bill_filed_from_its_proposal_date(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL)
    filed = by_stage(n, "filed")
    assert (filed["seq"], filed["on"], filed["origin"]) == (0, "2016-10-12", "field")
    assert n.bill["filed_on"] == "2016-10-12"


def test_cio_bill_first_reading_spans_both_sitting_days(replay_data: ReplayData) -> None:
    first = by_stage(norm(replay_data, CIO_BILL), "first-reading")
    assert (first["on"], first["second_on"]) == ("2016-10-14", "2016-10-18")
    assert (first["venue"], first["venue_kind"]) == ("院會", "plenary")
    assert first["committee"] == "司法及法制委員會"
    assert first["status_raw"] == "排入院會(交司法及法制委員會)"
    assert first["session_code"] == "09-02-06"
    assert json.loads(first["dates"]) == ["2016-10-14", "2016-10-18"]


def test_cio_bill_referred_and_listed(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL)
    referred = by_stage(n, "referred")
    # 交付審查 at 院會 names no committee: taken from the same sitting's 排入院會(交…)
    assert (referred["venue"], referred["committee"]) == ("院會", "司法及法制委員會")
    listed = by_stage(n, "committee-listed")
    assert (listed["on"], listed["status_raw"]) == ("2017-03-22", "尚未審查")
    assert (listed["venue_kind"], listed["committee"]) == ("committee", "司法及法制委員會")
    assert json.loads(listed["meeting_codes"]) == ["2017031608"]


FRESH = "2026-11-26T09:00:00+08:00"  # a 資料抓取時間 after term 9 ended


def test_cio_bill_as_captured_in_2018_keeps_its_stage(replay_data: ReplayData) -> None:
    """The samples were captured 2018-11-01, before term 9 ended: no expiry, "as of" instead."""
    n = norm(replay_data, CIO_BILL)
    assert (n.bill["current_stage"], n.bill["current_stage_on"]) == ("committee-listed", "2017-03-22")
    assert n.bill["as_of"] == "2018-10-31T16:00:00Z"
    assert (
        n.bill["current_stage_caveat"].startswith("as of 2018-11-01")
        and "2020-01-31" in n.bill["current_stage_caveat"]
    )
    assert "expired" not in [r["stage"] for r in n.stages]


def test_cio_bill_expired_row_is_derived(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL, 資料抓取時間=FRESH)
    expired = by_stage(n, "expired")
    assert (expired["seq"], expired["origin"], expired["on"]) == (DERIVED_SEQ, "derived", "2020-01-31")
    assert expired["status_raw"] == "" and "term 9" in expired["note"]
    assert expired["evidence_kind"] == "term-ended" and "captured 2026-11-26" in expired["evidence"]
    assert n.bill["current_stage"] == "expired" and n.bill["current_stage_derived"] == 1
    assert n.bill["current_stage_label"] == "屆期不續審"
    assert [r["stage"] for r in n.stages] == [
        "filed",
        "first-reading",
        "referred",
        "committee-listed",
        "expired",
    ]
    assert n.problems == []


def test_cio_bill_every_row_carries_provenance(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL)
    for row in [n.bill, *n.stages]:
        assert row["source_url"] == f"http://replay/v2/bills/{CIO_BILL}"
        assert row["fetched_at"] == "2026-11-26T01:02:03Z" and row["content_sha256"] == "ab" * 32
    assert n.bill["proposal_no"] == "70委19631" and n.bill["term"] == 9
    assert [(law["law_code"], law["law_name"]) for law in n.laws] == [("01010", "行政院組織法")]


def test_cio_bill_sponsors(replay_data: ReplayData) -> None:
    sponsors = norm(replay_data, CIO_BILL).sponsors
    proposers = [s for s in sponsors if s["role"] == "proposer"]
    cosponsors = [s for s in sponsors if s["role"] == "cosponsor"]
    assert [s["name"] for s in proposers] == ["許毓仁"]
    assert len(cosponsors) == 19 == len({s["name"] for s in cosponsors})
    zheng = next(s for s in cosponsors if s["name_raw"] == "鄭天財Sra．Kacaw")
    assert (zheng["name"], zheng["kind"]) == ("鄭天財", "legislator")
    assert [s["seq"] for s in cosponsors] == list(range(19))


# --- the real v2 capture ---------------------------------------------------------------------


def test_captured_bill(replay_data: ReplayData) -> None:
    n = norm(replay_data, CAPTURED_BILL)
    assert n.bill["term"] == 11 and n.bill["filed_on"] == "2026-05-15"
    assert n.bill["title"].startswith("「公職人員選舉罷免法第十四條條文修正草案」")
    assert (n.bill["current_stage"], n.bill["current_stage_on"]) == ("scheduled", "2026-05-15")
    assert n.bill["current_stage_derived"] == 0  # term 11 runs until 2028
    scheduled = by_stage(n, "scheduled")
    assert (scheduled["on"], scheduled["second_on"], scheduled["session_code"]) == (
        "2026-05-15",
        "2026-05-19",
        "11-05-10",
    )
    names = [s["name"] for s in n.sponsors if s["role"] == "cosponsor"]
    assert "伍麗華" in names and len(names) == 16
    assert [(d["name"], d["html_url"] != "") for d in n.documents] == [
        ("關係文書PDF", False),
        ("關係文書DOC", True),
    ]
    assert n.problems == []


# --- hashing and problems --------------------------------------------------------------------


def test_record_hash_ignores_fetch_time_only(replay_data: ReplayData) -> None:
    record = replay_data.bills[CAPTURED_BILL]
    later = {**record, "資料抓取時間": "2026-11-26T09:00:00+08:00"}
    assert content_hash(later) == content_hash(record)
    changed = {**record, "議案狀態": "交付審查"}
    assert content_hash(changed) != content_hash(record)
    assert norm(replay_data, CAPTURED_BILL).bill["record_sha256"] == content_hash(record)


def test_record_without_flow_is_a_problem(replay_data: ReplayData) -> None:
    n = norm(replay_data, "1060519070200500", 資料抓取時間=FRESH)  # misq has no 議案流程 key at all
    assert [p.kind for p in n.problems] == ["no-stage-flow"]
    assert [r["stage"] for r in n.stages] == ["filed", "expired"]


def test_bad_date_is_a_problem_not_a_crash(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL, 提案日期="1050230", 資料抓取時間=FRESH)
    assert [p.kind for p in n.problems] == ["doubtful-date"]
    assert "1050230" in n.problems[0].message
    filed = by_stage(n, "filed")  # kept as published, not used as a date
    assert (filed["on"], json.loads(filed["dates"]), filed["date_doubt"]) == (
        None,
        ["1050230"],
        "impossible date 1050230",
    )
    assert (n.bill["filed_on"], n.bill["filed_on_raw"]) == (None, "1050230")
    assert n.bill["current_stage"] == "expired"  # the rest of the bill survives


def test_pdf_date_naming_no_month_is_kept_raw(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL, 提案日期="2016-00-00")  # the PDFs' published_date
    assert by_stage(n, "filed")["date_doubt"] == "impossible date 2016-00-00"
    assert n.bill["filed_on_raw"] == "2016-00-00" and n.bill["filed_on"] is None
    assert n.problems[0].detail == {
        "field": "提案日期",
        "value": "2016-00-00",
        "doubt": "impossible date 2016-00-00",
    }


@pytest.mark.parametrize("raw", ["2014-02-15", "2962-12-16"])
def test_filing_date_outside_the_term_is_kept_raw(replay_data: ReplayData, raw: str) -> None:
    n = norm(replay_data, CIO_BILL, 提案日期=raw)  # 1051226070100100 was "filed" on 2014-02-15
    assert by_stage(n, "filed")["date_doubt"] == "outside term 9 (2016-02-01..2020-01-31)"
    assert (n.bill["filed_on"], n.bill["filed_on_raw"]) == (None, raw)
    assert [p.kind for p in n.problems] == ["doubtful-date"]


def test_filing_date_after_the_first_reading_is_kept_raw(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL, 提案日期="2016-11-01")  # its first reading was 2016-10-14
    filed = by_stage(n, "filed")
    assert (filed["on"], filed["date_doubt"]) == (None, "after the first reading on 2016-10-14")
    assert filed["order_on"] == "2016-10-14"  # still first in the timeline
    assert n.bill["filed_on"] is None and n.bill["filed_on_raw"] == "2016-11-01"
    assert "after the first reading on 2016-10-14" in n.problems[0].message


def test_flow_date_outside_the_term_is_kept_raw_the_other_day_used(replay_data: ReplayData) -> None:
    record = copy.deepcopy(replay_data.bills[CIO_BILL])
    record["議案流程"][0]["日期"] = ["2962-10-14", "2016-10-18"]
    n = normalise_bill(item(CIO_BILL, record), TODAY)
    first = n.stages[1]
    assert json.loads(first["dates"]) == ["2962-10-14", "2016-10-18"]
    assert (first["on"], first["second_on"]) == ("2016-10-18", None)
    assert first["date_doubt"] == "outside term 9 (2016-02-01..2020-01-31)"
    assert [p.kind for p in n.problems] == ["doubtful-date"]


def test_sound_dates_have_no_doubt(replay_data: ReplayData) -> None:
    n = norm(replay_data, CIO_BILL)
    assert all(r["date_doubt"] is None for r in n.stages) and n.bill["filed_on_raw"] is None
    assert n.problems == []


def test_a_bill_whose_only_entry_is_unknown_is_unknown_with_its_raw_text(
    replay_data: ReplayData, tmp_path: Path
) -> None:
    """Nothing recognised is still a stage: `unknown` (未知), the caveat naming the raw text, on
    the bills row the page and the API read; the text is still a counted unknown-stage problem."""
    record = copy.deepcopy(replay_data.bills[CAPTURED_BILL])
    record["提案日期"] = ""
    record["議案流程"] = [
        {"日期": ["2026-05-22"], "狀態": "院會決議另定期處理 ", "會期": "11-05-11", "院會/委員會": "院會"}
    ]
    n = normalise_bill(item(CAPTURED_BILL, record), TODAY)
    assert (n.bill["current_stage"], n.bill["current_stage_label"]) == ("unknown", "未知")
    assert n.bill["current_stage_on"] == "2026-05-22"
    assert "「院會決議另定期處理」" in n.bill["current_stage_caveat"]

    store = StorePipeline(str(tmp_path / "b.db"), TODAY)
    store.open_spider()
    store.process_item(item(CAPTURED_BILL, record))
    store.close_spider()
    conn = sqlite3.connect(tmp_path / "b.db")
    [row] = conn.execute(
        "SELECT current_stage, current_stage_label, current_stage_evidence, current_stage_caveat FROM bills"
    ).fetchall()
    assert row[:3] == ("unknown", "未知", "flow")
    assert "no rule of the stage vocabulary recognises 「院會決議另定期處理」 (2026-05-22)" in row[3]
    assert conn.execute("SELECT kind FROM problems").fetchall() == [("unknown-stage",)]


def test_unknown_status_is_a_problem_and_a_stored_row(replay_data: ReplayData, tmp_path: Path) -> None:
    record = copy.deepcopy(replay_data.bills[CAPTURED_BILL])
    record["議案流程"].append(
        {"日期": ["2026-05-22"], "狀態": "院會決議另定期處理 ", "會期": "11-05-11", "院會/委員會": "院會"}
    )
    n = normalise_bill(item(CAPTURED_BILL, record), TODAY)
    assert [p.kind for p in n.problems] == ["unknown-stage"]
    assert "院會決議另定期處理" in n.problems[0].message
    assert n.bill["current_stage"] == "scheduled"  # unknown never moves the state

    store = StorePipeline(str(tmp_path / "b.db"), TODAY)
    store.open_spider()
    store.process_item(item(CAPTURED_BILL, record))
    store.close_spider()
    conn = sqlite3.connect(tmp_path / "b.db")
    rows = conn.execute("SELECT stage, stage_label, status_raw FROM stages WHERE seq = 2").fetchall()
    assert rows == [("unknown", "未知", "院會決議另定期處理 ")]
    assert conn.execute("SELECT kind, bill_no FROM problems").fetchall() == [("unknown-stage", CAPTURED_BILL)]
