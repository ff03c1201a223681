"""pipelines/reconcile.py on real SQLite files filled by the real StorePipeline and SourcePipeline
with the replay's records: merged review, the disagreement ledger, lis resolution, legislators."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from billtracker.replay import ReplayData, load_replay
from pipelines.normalise.names import alias_key
from pipelines.reconcile import Reconciler, reconcile, report_filed_on
from pipelines.reconcile.merged_reviews import is_report
from pipelines.schema import open_db
from pipelines.store.pipeline import StorePipeline
from pipelines.store.sources import SourcePipeline
from scrapers.items import BillItem, LegislatorItem, Provenance, SourceBillItem

TODAY = date(2026, 11, 26)
MERGED = "1050219070203400"  # its own flow has 三讀 2016-11-18
COMPANION = "1050616070200500"  # 審查完畢; merged with MERGED by report 1050926070300100
REPORT = "1050926070300100"  # not in the samples: tests store a SYNTHETIC stand-in


@pytest.fixture(scope="module")
def replay_data(samples_dir: Path) -> ReplayData:
    return load_replay(samples_dir)


def prov(url: str, spider: str = "test", fetched_at: str = "2026-11-26T01:00:00Z") -> Provenance:
    return Provenance(url, fetched_at, "ab" * 32, spider)


def store(path: Path, data: ReplayData, *bill_nos: str) -> None:
    pipeline = StorePipeline(str(path), TODAY)
    pipeline.open_spider()
    for bill_no in bill_nos:
        record = copy.deepcopy(data.bills[bill_no])
        pipeline.process_item(
            BillItem(bill_no, record, prov(f"http://replay/v2/bills/{bill_no}", "tw_ly_bills"))
        )
    pipeline.close_spider()


def sources(path: Path, *items: Any) -> None:
    pipeline = SourcePipeline(str(path))
    pipeline.open_spider()
    for item in items:
        pipeline.process_item(item)
    pipeline.close_spider()


def run(path: Path) -> dict[str, int]:
    db = open_db(path)
    try:
        return reconcile(db, TODAY)
    finally:
        db.close()


def rows(path: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return list(sqlite_utils.Database(path).query(sql, params or []))


FRESH = "2026-11-26T09:00:00+08:00"  # a 資料抓取時間 after term 9 ended, as live LYAPI's is


def report_record(data: ReplayData, flow_ends: str = "2016-11-18") -> dict[str, Any]:
    """SYNTHETIC report record: the report 1050926070300100 is not in the samples. A copy of
    1050219070203400's record renamed to it (its flow ends 三讀 on `flow_ends`) stands in."""
    report = copy.deepcopy(data.bills[MERGED])
    title = next(r["議案名稱"] for r in data.bills[MERGED]["關連議案"] if r["議案編號"] == REPORT)
    report.update(
        {"議案編號": REPORT, "關連議案": [], "議案名稱": title, "提案單位/提案委員": "司法及法制委員會"}
    )
    for entry in report["議案流程"]:
        if entry["狀態"] == "三讀":
            entry["日期"] = [flow_ends]
    return report


def store_records(path: Path, records: dict[str, dict[str, Any]], captured: str | None = FRESH) -> None:
    """Store whole records (copies), each with 資料抓取時間 set to `captured` when given."""
    pipeline = StorePipeline(str(path), TODAY)
    pipeline.open_spider()
    for bill_no, record in records.items():
        record = copy.deepcopy(record)
        if captured:
            record["資料抓取時間"] = captured
        pipeline.process_item(
            BillItem(bill_no, record, prov(f"http://replay/v2/bills/{bill_no}", "tw_ly_bills"))
        )
    pipeline.close_spider()


def test_report_numbers_and_filing_days() -> None:
    assert is_report(REPORT) and not is_report(MERGED)
    assert report_filed_on(REPORT) == "2016-09-26"
    assert report_filed_on("202110213410000") is None  # term 11's 15 digits do not start with a date


@pytest.fixture(scope="module")
def merged_db(tmp_path_factory: pytest.TempPathFactory, replay_data: ReplayData) -> Path:
    """MERGED (own 三讀), COMPANION (審查完畢) and their report with its own 三讀, all captured
    after term 9 ended: the companion's store-time expiry is undone by the report's 三讀."""
    path = tmp_path_factory.mktemp("merged") / "b.db"
    bills = {b: replay_data.bills[b] for b in (MERGED, COMPANION)}
    store_records(path, {**bills, REPORT: report_record(replay_data)})
    run(path)
    return path


def test_third_reading_of_the_reports_own_flow_reaches_the_companion(merged_db: Path) -> None:
    [row] = rows(merged_db, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading'", [COMPANION])
    assert (row["seq"], row["origin"], row["on"], row["evidence_kind"]) == (
        1100,
        "derived",
        "2016-11-18",
        "report",
    )
    assert (
        REPORT in row["evidence"]
        and "related" in row["evidence"]
        and MERGED not in row["evidence"].split(";")[0]
    )
    assert row["source_url"] == f"http://replay/v2/bills/{REPORT}"  # the evidence's own URL
    [bill] = rows(merged_db, "SELECT * FROM bills WHERE bill_no = ?", [COMPANION])
    assert (bill["current_stage"], bill["current_stage_on"], bill["current_stage_evidence"]) == (
        "third-reading",
        "2016-11-18",
        "report",
    )
    assert REPORT in bill["current_stage_caveat"]  # the page says the pass is the report's
    # a report is never itself a "merged proposal": it gets no derived row
    assert rows(merged_db, "SELECT * FROM stages WHERE bill_no = ? AND seq = 1100", [REPORT]) == []


def test_a_companions_third_reading_is_never_borrowed(tmp_path: Path, replay_data: ReplayData) -> None:
    """Without the report's own record, MERGED's 三讀 is not COMPANION's evidence."""
    path = tmp_path / "borrow.db"
    store_records(path, {b: replay_data.bills[b] for b in (MERGED, COMPANION)})
    run(path)
    assert rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading'", [COMPANION]) == []
    [bill] = rows(path, "SELECT current_stage FROM bills WHERE bill_no = ?", [COMPANION])
    assert bill["current_stage"] == "expired"  # captured after term 9 ended, no evidence of a pass


def test_evidence_cited_in_stage_sources(merged_db: Path) -> None:
    [src] = rows(merged_db, "SELECT * FROM stage_sources WHERE bill_no = ? AND seq = 1100", [COMPANION])
    assert (src["role"], src["source"], src["status_raw"]) == ("evidence", "lyapi", "三讀")


def test_expiry_undone_but_kept(merged_db: Path) -> None:
    [expired] = rows(merged_db, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'expired'", [COMPANION])
    assert expired["gone_at"] and "undone" in expired["note"]


def test_merged_reviews_links(merged_db: Path) -> None:
    links = {
        (r["bill_no"], r["kind"])
        for r in rows(merged_db, "SELECT * FROM merged_reviews WHERE report_bill_no = ?", [REPORT])
    }
    assert links == {(MERGED, "related"), (COMPANION, "related")}  # stored bills only, by 關連議案


def test_derived_third_reading_is_a_change_event(merged_db: Path) -> None:
    """News sites learn of the propagated 三讀 through `changes` like any crawled stage."""
    [change] = rows(
        merged_db, "SELECT * FROM changes WHERE bill_no = ? AND kind = 'current-stage-changed'", [COMPANION]
    )
    assert (change["old_value"], change["new_value"], change["stage"]) == (
        "expired",
        "third-reading",
        "third-reading",
    )


def test_reconcile_again_changes_nothing(merged_db: Path) -> None:
    tables = ["stages", "stage_sources", "merged_reviews", "bills", "disagreements", "changes"]
    before = {t: rows(merged_db, f"SELECT * FROM {t}") for t in tables}
    counts = run(merged_db)
    assert counts.get("merged_third_readings", 0) == 0 and counts.get("disagreements", 0) == 0
    assert {t: rows(merged_db, f"SELECT * FROM {t}") for t in tables} == before


def test_a_report_third_reading_before_the_report_was_filed_moves_nothing(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    path = tmp_path / "early.db"
    store_records(
        path, {COMPANION: replay_data.bills[COMPANION], REPORT: report_record(replay_data, "2016-09-01")}
    )
    counts = run(path)
    assert counts["report_third_readings_refused"] == 1
    assert rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading'", [COMPANION]) == []
    [d] = rows(path, "SELECT * FROM disagreements WHERE bill_no = ? AND field = 'report 三讀'", [COMPANION])
    assert "2016-09-26" in d["summary"]


def titled_report(data: ReplayData, title: str) -> dict[str, Any]:
    """SYNTHETIC report with its own 三讀 and the given title; no 關連議案 on either side."""
    record = report_record(data)
    record["議案名稱"] = title
    return record


def without_related(record: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(record), "關連議案": []}


def test_a_report_title_naming_sponsor_and_title_links_the_bill(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    path = tmp_path / "title.db"
    title = "本院司法及法制委員會報告審查委員李俊俋等18人擬具「法院組織法刪除第六十三條之一條文草案」案。"
    store_records(
        path,
        {COMPANION: without_related(replay_data.bills[COMPANION]), REPORT: titled_report(replay_data, title)},
    )
    run(path)
    [link] = rows(path, "SELECT * FROM merged_reviews")
    assert (link["bill_no"], link["kind"]) == (COMPANION, "title") and "李俊俋等18人" in link["evidence"]
    [row] = rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading'", [COMPANION])
    assert row["evidence_kind"] == "report" and "title" in row["evidence"]


def test_a_headcount_alone_is_never_a_link(tmp_path: Path, replay_data: ReplayData) -> None:
    """1051207070200500 was shown passed through a report about another law that named its
    sponsor's headcount: the same sponsor with another 「title」 links nothing."""
    path = tmp_path / "headcount.db"
    title = "本院財政委員會報告審查委員李俊俋等18人擬具「證券交易稅條例第二條條文修正草案」案。"
    store_records(
        path,
        {COMPANION: without_related(replay_data.bills[COMPANION]), REPORT: titled_report(replay_data, title)},
    )
    run(path)
    assert rows(path, "SELECT * FROM merged_reviews") == []
    assert rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading'", [COMPANION]) == []


def test_an_ambiguous_title_match_is_a_candidate_that_moves_nothing(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    """SYNTHETIC twin: a second bill of 李俊俋等18人 with the same title fits the clause too."""
    path = tmp_path / "twin.db"
    twin_no = "1050617070200500"
    twin = {**without_related(replay_data.bills[COMPANION]), "議案編號": twin_no}
    title = "本院司法及法制委員會報告審查委員李俊俋等18人擬具「法院組織法刪除第六十三條之一條文草案」案。"
    store_records(
        path,
        {
            COMPANION: without_related(replay_data.bills[COMPANION]),
            twin_no: twin,
            REPORT: titled_report(replay_data, title),
        },
    )
    run(path)
    assert {(r["bill_no"], r["kind"]) for r in rows(path, "SELECT * FROM merged_reviews")} == {
        (COMPANION, "candidate"),
        (twin_no, "candidate"),
    }
    assert rows(path, "SELECT * FROM stages WHERE stage = 'third-reading' AND bill_no != ?", [REPORT]) == []


def test_a_status_that_says_passed_gives_an_undated_third_reading(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    """SYNTHETIC status: 1050425070200200's pattern (議案狀態 三讀, flow ends at 委員會發文)
    on a sample bill. A third reading, undated, a `passed` disagreement; never expired."""
    path = tmp_path / "status.db"
    record = {**replay_data.bills[COMPANION], "議案狀態": "三讀"}
    store_records(path, {COMPANION: record})
    run(path)
    [row] = rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading'", [COMPANION])
    assert (row["seq"], row["evidence_kind"], row["on"]) == (1300, "source-status", None)
    assert "議案狀態 三讀" in row["evidence"] and "no source dates it" in row["evidence"]
    [bill] = rows(path, "SELECT * FROM bills")
    assert (bill["current_stage"], bill["current_stage_on"]) == ("third-reading", None)
    assert "委員會發文" in bill["current_stage_caveat"] and "no source dates" in bill["current_stage_caveat"]
    [d] = rows(path, "SELECT * FROM disagreements WHERE field = 'passed'")
    assert d["chosen_source"] == "lyapi" and "flow: 委員會發文" in d["summary"]
    assert rows(path, "SELECT * FROM stages WHERE stage = 'expired' AND gone_at IS NULL") == []


def test_expiry_waits_for_data_newer_than_the_term(tmp_path: Path, replay_data: ReplayData) -> None:
    """Records captured 2018-11-01 cannot say a 9th-term bill did not pass in 2019: no expiry,
    the stage "as of" the capture. The same record captured again in 2021 settles it."""
    path = tmp_path / "age.db"
    store_records(path, {COMPANION: replay_data.bills[COMPANION]}, captured="2018-11-01T00:00:00+08:00")
    run(path)
    [bill] = rows(path, "SELECT * FROM bills")
    assert bill["current_stage"] == "committee-reported" and bill["as_of"] == "2018-10-31T16:00:00Z"
    assert bill["current_stage_caveat"].startswith("as of 2018-11-01")
    assert rows(path, "SELECT * FROM stages WHERE stage = 'expired'") == []
    store_records(path, {COMPANION: replay_data.bills[COMPANION]}, captured="2021-03-01T10:00:00+08:00")
    run(path)
    [bill] = rows(path, "SELECT * FROM bills")
    assert (bill["current_stage"], bill["current_stage_evidence"], bill["current_stage_caveat"]) == (
        "expired",
        "term-ended",
        "",
    )
    [expired] = rows(path, "SELECT * FROM stages WHERE stage = 'expired'")
    assert expired["evidence_kind"] == "term-ended" and "captured 2021-03-01" in expired["evidence"]


def opendata(bill_no: str, status: str, names: list[str] | None = None) -> SourceBillItem:
    return SourceBillItem(
        source="opendata",
        key=bill_no,
        bill_no=bill_no,
        provenance=prov("http://replay/odw/usageFile.action?id=20&type=CSV", "tw_ly_opendata"),
        term="09",
        status_raw=status,
        cosponsors=names or [],
    )


def test_status_disagreement_is_recorded_not_overwritten(tmp_path: Path, replay_data: ReplayData) -> None:
    path = tmp_path / "d.db"
    bill_no = "1061218070201500"  # misq 議案狀態 排入院會; open data 交付審查
    store(path, replay_data, bill_no)
    sources(path, opendata(bill_no, "交付審查"))
    run(path)
    [d] = rows(path, "SELECT * FROM disagreements WHERE bill_no = ? AND field = 'status'", [bill_no])
    readings = json.loads(d["readings"])
    assert [(r["source"], r["value"]) for r in readings] == [("lyapi", "排入院會"), ("opendata", "交付審查")]
    assert all(r["source_url"] and r["fetched_at"] for r in readings)
    assert (d["chosen_source"], d["chosen_value"], d["superseded_at"]) == ("lyapi", "排入院會", None)
    [bill] = rows(path, "SELECT status_raw, sources FROM bills WHERE bill_no = ?", [bill_no])
    assert bill["status_raw"] == "排入院會" and json.loads(bill["sources"]) == ["lyapi", "opendata"]
    # open data changes its reading: the old row stays, marked superseded; the new one is current
    sources(path, opendata(bill_no, "撤回"))
    run(path)
    ledger = rows(path, "SELECT summary, superseded_at FROM disagreements WHERE field = 'status' ORDER BY id")
    assert [r["summary"] for r in ledger] == [
        "lyapi: 排入院會 | opendata: 交付審查",
        "lyapi: 排入院會 | opendata: 撤回",
    ]
    assert ledger[0]["superseded_at"] and ledger[1]["superseded_at"] is None
    # the sources come to agree: no disagreement is current any more, none is deleted
    sources(path, opendata(bill_no, "排入院會"))
    run(path)
    ledger = rows(path, "SELECT superseded_at FROM disagreements WHERE field = 'status'")
    assert len(ledger) == 2 and all(r["superseded_at"] for r in ledger)


def test_lis_resolved_by_proposal_number(tmp_path: Path, replay_data: ReplayData) -> None:
    path = tmp_path / "l.db"
    cio = "1051006070201100"
    store(path, replay_data, cio)
    lis = SourceBillItem(
        source="lis",
        key="70委19631",
        bill_no=None,
        provenance=prov("http://replay/bills_9.json", "tw_ly_lis"),
        term="09",
        proposal_no="70委19631",
        title="行政院組織法第六條條文修正草案",
        status_raw="委員會審議中",
        status_on_raw="1060322",
        filed_on_raw="1051014",
    )
    sources(path, lis)
    run(path)
    assert rows(path, "SELECT bill_no FROM source_bills")[0]["bill_no"] == cio
    # lis' 委員會審議中 on 2017-03-22 is the same state as LYAPI's 尚未審查 that day: it confirms it
    [src] = rows(
        path,
        "SELECT s.stage, ss.role FROM stage_sources ss JOIN stages s USING (bill_no, seq) "
        "WHERE ss.source = 'lis'",
    )
    assert (src["stage"], src["role"]) == ("committee-listed", "confirms")
    fields = {r["field"]: r for r in rows(path, "SELECT * FROM disagreements")}
    assert "title" not in fields  # 「…」，請審議案。 vs the bare title: the same title
    assert fields["filed_on"]["summary"] == "lyapi: 2016-10-12 | lis: 2016-10-14"


def test_event_only_a_secondary_source_reports_becomes_a_stage(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    path = tmp_path / "s.db"
    bill_no = "1051004070200200"  # flow ends 委員會發文; lis: 1060526 三讀
    store(path, replay_data, bill_no)
    item = SourceBillItem(
        source="lis",
        key="1720委19615",
        bill_no=bill_no,
        provenance=prov("http://replay/bills_9.json", "tw_ly_lis"),
        status_raw="三讀",
        status_on_raw="1060526",
    )
    sources(path, item)
    run(path)
    [row] = rows(path, "SELECT * FROM stages WHERE bill_no = ? AND origin = 'source'", [bill_no])
    assert (row["seq"], row["stage"], row["on"], row["source"]) == (
        2000,
        "third-reading",
        "2017-05-26",
        "lis",
    )
    assert rows(path, "SELECT current_stage FROM bills")[0]["current_stage"] == "third-reading"


def test_bill_only_a_secondary_source_knows_gets_a_row(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    sources(path, opendata("1070101070200100", "排入院會"))
    run(path)
    [bill] = rows(path, "SELECT bill_no, source, status_raw FROM bills")
    assert (bill["bill_no"], bill["source"], bill["status_raw"]) == (
        "1070101070200100",
        "opendata",
        "排入院會",
    )


def test_sponsors_linked_to_legislators_across_spellings(tmp_path: Path, replay_data: ReplayData) -> None:
    path = tmp_path / "p.db"
    cio = "1051006070201100"
    store(path, replay_data, cio)
    roster = prov("http://replay/odw/usageFile.action?id=9&type=CSV", "tw_ly_opendata")
    sources(
        path,
        LegislatorItem("09", "鄭天財Sra．Kacaw", "Jeng Tian-Tsair", "中國國民黨", {}, roster),
        LegislatorItem("09", "谷辣斯．尤達卡Kolas Yotaka", "Kolas Yotaka", "民主進步黨", {}, roster),
        opendata(cio, "交付審查", ["鄭天財", "王育敏"]),
    )
    run(path)
    [row] = rows(path, "SELECT name, legislator_id FROM sponsors WHERE name_raw = '鄭天財Sra．Kacaw'")
    assert (row["name"], row["legislator_id"]) == ("鄭天財", "鄭天財")
    db = open_db(path)
    index = Reconciler(db, TODAY).alias_index()
    spellings = [
        "Kolas Yotaka",
        "谷辣斯．尤達卡Kolas Yotaka",
        "谷辣斯．尤達卡",
        "谷辣斯．尤達卡　Kolas　Yotaka",
    ]
    assert {index[alias_key(s)] for s in spellings} == {"谷辣斯．尤達卡"}
    db.close()
    # 鄭天財 (open data) and 鄭天財Sra．Kacaw (LYAPI) are one person: the sponsor lists differ only
    # because open data's list here is short, and the ledger says exactly that
    [d] = rows(path, "SELECT readings FROM disagreements WHERE field = 'sponsors'")
    opendata_reading = [r for r in json.loads(d["readings"]) if r["source"] == "opendata"][0]
    assert opendata_reading["value"] == "王育敏、鄭天財"


def test_promulgation_from_moj_history(tmp_path: Path, replay_data: ReplayData, samples_dir: Path) -> None:
    """SYNTHETIC flow entry: the CIO bill never passed. A copy of its record is given a 三讀 on
    2022-01-04 so that MOJ's real 沿革 entry of 2022-01-19 (行政院組織法, A0010032) follows it,
    and made a 10th-term bill: a 9th-term bill's 2022 date is outside its term, kept raw, unused."""
    from pipelines.store.moj_law import store_law_text
    from scrapers.items import LawTextItem

    path = tmp_path / "m.db"
    cio = "1051006070201100"
    record = copy.deepcopy(replay_data.bills[cio])
    record["屆"] = 10
    record["議案流程"].append(
        {"日期": ["2022-01-04"], "狀態": "三讀", "會期": "10-04-15", "院會/委員會": "院會"}
    )
    pipeline = StorePipeline(str(path), TODAY)
    pipeline.open_spider()
    pipeline.process_item(BillItem(cio, record, prov(f"http://replay/v2/bills/{cio}", "tw_ly_bills")))
    pipeline.close_spider()
    moj = json.loads(
        (samples_dir / "law.moj.gov.tw/mojLawSplitJSON_split_ch_A0010032.json").read_text("utf-8")
    )
    db = open_db(path)
    assert (
        store_law_text(
            db, LawTextItem("A0010032", moj, prov("http://replay/moj/ch/A0010032.json", "tw_law_moj"))
        )
        == []
    )
    # lis lists the same promulgation a day later (SYNTHETIC): MOJ wins, the ledger keeps both
    db["lis_law_versions"].insert(
        {
            "law_code": "01010",
            "seq": 1,
            "law_name": "行政院組織法",
            "text_raw": "中華民國111年1月20日公布",
            "action": "公布",
            "on": "2022-01-20",
            "source": "lis",
            "source_url": "http://replay/lis/01010.json",
            "fetched_at": "2026-11-26T01:00:00Z",
            "content_sha256": "cd" * 32,
        }
    )
    reconcile(db, TODAY)
    db.close()
    [row] = rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'promulgated'", [cio])
    assert (row["seq"], row["origin"], row["on"], row["source"]) == (1200, "derived", "2022-01-19", "moj")
    assert "2022-01-04" in row["note"] and row["source_url"] == "http://replay/moj/ch/A0010032.json"
    assert rows(path, "SELECT current_stage FROM bills")[0]["current_stage"] == "promulgated"
    [d] = rows(path, "SELECT * FROM disagreements WHERE field = 'promulgated_on'")
    assert (d["summary"], d["chosen_source"]) == ("moj: 2022-01-19 | lis: 2022-01-20", "moj")
    [src] = rows(path, "SELECT * FROM stage_sources WHERE seq = 1200")
    assert (src["source"], src["role"]) == ("moj", "evidence")


def test_no_promulgation_without_third_reading(
    tmp_path: Path, replay_data: ReplayData, samples_dir: Path
) -> None:
    from pipelines.store.moj_law import store_law_text
    from scrapers.items import LawTextItem

    path = tmp_path / "n.db"
    store(path, replay_data, "1051006070201100")  # never passed: MOJ's 2022 version is not its
    moj = json.loads(
        (samples_dir / "law.moj.gov.tw/mojLawSplitJSON_split_ch_A0010032.json").read_text("utf-8")
    )
    db = open_db(path)
    store_law_text(db, LawTextItem("A0010032", moj, prov("http://replay/moj/ch/A0010032.json", "tw_law_moj")))
    reconcile(db, TODAY)
    db.close()
    assert rows(path, "SELECT * FROM stages WHERE stage = 'promulgated'") == []


def test_shared_proposal_number_resolved_by_title_only(tmp_path: Path, replay_data: ReplayData) -> None:
    """One 提案編號 can cover several drafts (lis 70委20031); here a SYNTHETIC second lis record
    shares the CIO bill's 70委19631: only the record whose title matches is linked."""
    path = tmp_path / "t.db"
    cio = "1051006070201100"
    store(path, replay_data, cio)

    def lis(key: str, title: str) -> SourceBillItem:
        return SourceBillItem(
            source="lis",
            key=key,
            bill_no=None,
            provenance=prov("http://replay/bills_9.json", "tw_ly_lis"),
            term="09",
            proposal_no="70委19631",
            title=title,
        )

    sources(
        path,
        lis("1", "行政院組織法第六條條文修正草案"),
        lis("2", "中央行政機關組織基準法第二十九條條文修正草案"),
    )
    run(path)
    assert {r["source_key"]: r["bill_no"] for r in rows(path, "SELECT * FROM source_bills")} == {
        "1": cio,
        "2": None,
    }


def test_derived_third_reading_withdrawn_when_its_evidence_goes(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    path = tmp_path / "w.db"
    report = report_record(replay_data)
    store_records(path, {COMPANION: replay_data.bills[COMPANION], REPORT: report})
    run(path)
    # upstream drops the report's 三讀 entry (as a rewound snapshot does)
    report["議案流程"] = [e for e in report["議案流程"] if e["狀態"] != "三讀"]
    store_records(path, {REPORT: report})
    counts = run(path)
    assert counts["derived_withdrawn"] == 1
    [row] = rows(path, "SELECT * FROM stages WHERE bill_no = ? AND seq = 1100", [COMPANION])
    assert row["gone_at"] and "evidence gone" in row["note"]  # kept, never deleted
    [expired] = rows(path, "SELECT * FROM stages WHERE bill_no = ? AND stage = 'expired'", [COMPANION])
    assert expired["gone_at"] is None  # the expiry stands again
    assert (
        rows(path, "SELECT current_stage FROM bills WHERE bill_no = ?", [COMPANION])[0]["current_stage"]
        == "expired"
    )


def test_scope_widens_to_merged_companions(merged_db: Path) -> None:
    """Reconciling one bill reconciles every bill merged with it into one report."""
    db = open_db(merged_db)
    try:
        reconciler = Reconciler(db, date(2026, 11, 26))
        assert reconciler.scope({COMPANION}) == {COMPANION, MERGED, REPORT}
        assert reconciler.scope({"0000000000000000"}) == set()
        assert reconciler.scope(None) == {r["bill_no"] for r in db["bills"].rows}
    finally:
        db.close()


DERIVED_THIRD = (
    "select count(*) from stages where bill_no = ? and origin = 'derived' and stage = 'third-reading'"
)


def test_scoped_reconcile_leaves_other_bills_alone(tmp_path: Path, replay_data: ReplayData) -> None:
    path = tmp_path / "scoped.db"
    cio = "1051006070201100"
    store_records(
        path,
        {
            COMPANION: replay_data.bills[COMPANION],
            REPORT: report_record(replay_data),
            cio: replay_data.bills[cio],
        },
    )
    db = open_db(path)
    try:
        reconcile(db, date(2026, 11, 26), only={cio})
        # The merged pair was out of scope: no derived third reading yet.
        assert not db.execute(DERIVED_THIRD, [COMPANION]).fetchone()[0]
        reconcile(db, date(2026, 11, 26), only={REPORT})  # its companion comes along
        assert db.execute(DERIVED_THIRD, [COMPANION]).fetchone()[0] == 1
    finally:
        db.close()


def test_pipeline_scope_follows_the_items() -> None:
    from pipelines.reconcile import ReconcilePipeline

    pipeline = ReconcilePipeline("unused.db", date(2026, 11, 26))
    record = {"議案編號": MERGED, "關連議案": [{"議案編號": COMPANION}]}
    pipeline.process_item(BillItem(MERGED, record, prov("http://replay/v2/bills/x")))
    assert pipeline.touched == {MERGED, COMPANION}
    pipeline.process_item(SourceBillItem.__new__(SourceBillItem))  # any other source: reconcile all
    assert pipeline.touched is None


CIO = "1051006070201100"  # filed 2016-10-12, first reading 2016-10-14


def lis_reading(filed_on_raw: str, proposers: list[str]) -> SourceBillItem:
    return SourceBillItem(
        source="lis",
        key="lis-1",
        bill_no=CIO,
        provenance=prov("http://replay/lis/bill-1", "tw_ly_lis"),
        term="9",
        title="行政院組織法第六條條文修正草案",
        filed_on_raw=filed_on_raw,
        proposers=proposers,
    )


def store_cio(path: Path, data: ReplayData, **changes: Any) -> None:
    pipeline = StorePipeline(str(path), TODAY)
    pipeline.open_spider()
    record = copy.deepcopy(data.bills[CIO]) | changes
    pipeline.process_item(BillItem(CIO, record, prov(f"http://replay/v2/bills/{CIO}", "tw_ly_bills")))
    pipeline.close_spider()


def test_a_doubted_filing_date_of_another_source_never_becomes_filed_on(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    path = tmp_path / "d.db"
    store_cio(path, replay_data, 提案日期="2016-10-20")  # after its first reading: kept raw
    sources(path, lis_reading("105/10/21", []))  # lis: after the first reading too
    run(path)
    [bill] = rows(path, "SELECT filed_on, filed_on_raw FROM bills")
    assert (bill["filed_on"], bill["filed_on_raw"]) == (None, "2016-10-20")


def test_a_sound_filing_date_of_another_source_is_used(tmp_path: Path, replay_data: ReplayData) -> None:
    path = tmp_path / "s.db"
    store_cio(path, replay_data, 提案日期="2016-00-00")
    sources(path, lis_reading("105/10/12", []))
    run(path)
    assert rows(path, "SELECT filed_on, filed_on_raw FROM bills") == [
        {"filed_on": "2016-10-12", "filed_on_raw": "2016-00-00"}
    ]


def test_a_proposer_only_another_source_names_is_stored(tmp_path: Path, replay_data: ReplayData) -> None:
    """1060519070202300's pattern: LYAPI's 提案人 is empty, another source names the proposer."""
    path = tmp_path / "p.db"
    store_cio(path, replay_data, 提案人=[])
    sources(path, lis_reading("105/10/12", ["許毓仁"]))
    run(path)
    proposers = rows(path, "SELECT name_raw, source, source_url FROM sponsors WHERE role = 'proposer'")
    assert proposers == [{"name_raw": "許毓仁", "source": "lis", "source_url": "http://replay/lis/bill-1"}]
    cosponsors = rows(path, "SELECT count(*) n FROM sponsors WHERE role = 'cosponsor' AND source = 'lyapi'")
    assert cosponsors[0]["n"] > 0  # LYAPI's own cosponsors stay as they are
    before = rows(path, "SELECT * FROM sponsors ORDER BY role, seq")
    assert run(path).get("sponsors_filled", 0) == 0  # a second run changes nothing
    assert rows(path, "SELECT * FROM sponsors ORDER BY role, seq") == before
