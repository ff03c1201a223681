"""End to end for issue 3: `billtracker crawl --replay` runs every spider (LYAPI, ppg, open data,
lis) through the real CLI and Scrapy engine into one SQLite file; then one record per bill, the
sources of each stage, the disagreement ledger and merged review are checked through Datasette."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlite_utils

from billtracker.replay import ReplayServer
from billtracker.serve.datasette import datasette_app
from tests.conftest import CIO_BILL, run_cli_crawl, run_crawl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def db_path(cli_crawl: tuple[Path, str]) -> Path:
    path, stderr = cli_crawl  # the same real CLI crawl test_e2e checks
    for spider in ("tw_ly_bills", "tw_ly_ppg", "tw_ly_opendata", "tw_ly_lis", "tw_ly_legislators"):
        assert f"crawl: {spider} ->" in stderr
    return path


def get(db_path: Path, path: str) -> Any:
    async def fetch() -> Any:
        return await datasette_app(db_path).client.get(path)

    response = asyncio.run(fetch())
    assert response.status_code == 200, response.text[:500]
    return response.json()


def query(db_path: Path, name: str, **params: str) -> list[dict[str, Any]]:
    return get(db_path, f"/billtracker/{name}.json?{urlencode({**params, '_shape': 'array'})}")


def table(db_path: Path, name: str, **params: str) -> list[dict[str, Any]]:
    return get(
        db_path, f"/billtracker/{name}.json?{urlencode({**params, '_shape': 'array', '_size': 'max'})}"
    )


# --- 2. one record per bill, every source of every stage -----------------------------------


def test_one_row_per_bill_whatever_the_number_of_sources(db_path: Path) -> None:
    bills = table(db_path, "bills")
    assert len(bills) == 28 == len({b["bill_no"] for b in bills})
    cio = [b for b in bills if b["bill_no"] == CIO_BILL][0]
    assert json.loads(cio["sources"]) == ["lyapi", "lis", "opendata", "ppg"]


def test_each_stage_lists_every_source_with_its_url(db_path: Path) -> None:
    stages = {r["stage"]: r for r in query(db_path, "timeline_sources", bill_no=CIO_BILL)}
    listed = json.loads(stages["committee-listed"]["source_urls"])
    assert {(s["source"], s["role"]) for s in listed} == {
        ("lyapi", "stored"),
        ("ppg", "confirms"),
        ("lis", "confirms"),
    }
    urls = {s["source"]: s["source_url"] for s in listed}
    # each the upstream the replayed record stands for, never the replay's 127.0.0.1
    assert urls == {
        "lyapi": f"https://ly.govapi.tw/v2/bills/{CIO_BILL}",
        "ppg": f"https://ppg.ly.gov.tw/ppg/bills/{CIO_BILL}/details",
        "lis": "https://raw.githubusercontent.com/thewayiam/twly_fileHandler/master/bill/crawler/bills_9.json",
    }
    assert all(s["fetched_at"] for s in listed)
    assert {s["source"] for s in json.loads(stages["first-reading"]["source_urls"])} == {"lyapi", "ppg"}


# --- 3. the disagreement ledger --------------------------------------------------------------


def test_disagreements_newest_first_with_every_reading(db_path: Path) -> None:
    rows = query(db_path, "disagreements")
    assert len(rows) >= 20
    assert [r["detected_at"] for r in rows] == sorted((r["detected_at"] for r in rows), reverse=True)
    [status] = query(db_path, "disagreements", bill_no="1061218070201500", field="status")
    assert status["superseded_at"] is None
    every = query(db_path, "disagreements", bill_no="1061218070201500", superseded="1")
    assert len(every) >= 1 and all("superseded_at" in r for r in every)
    readings = {r["source"]: r for r in json.loads(status["readings"])}
    assert (readings["lyapi"]["value"], readings["opendata"]["value"]) == ("排入院會", "交付審查")
    assert all(r["fetched_at"] and r["source_url"] for r in readings.values())
    assert status["chosen_source"] == "lyapi"


def test_sponsor_list_disagreement_names_the_missing_character(db_path: Path) -> None:
    # open data's 連署人 column cut 陳賴素美 to 陳賴素 for 1050219070204700
    [row] = query(db_path, "disagreements", bill_no="1050219070204700", field="sponsors")
    readings = {r["source"]: r["value"].split("、") for r in json.loads(row["readings"])}
    assert "陳賴素" in readings["opendata"] and "陳賴素美" in readings["lyapi"]


# --- 4. merged review (併案) -------------------------------------------------------------------


def third_reading(db_path: Path, bill_no: str) -> list[dict[str, Any]]:
    return [r for r in query(db_path, "bill_timeline", bill_no=bill_no) if r["stage"] == "third-reading"]


def test_merged_bill_third_reading_with_companions(db_path: Path) -> None:
    assert [(r["on"], r["origin"]) for r in third_reading(db_path, "1050219070203400")] == [
        ("2016-11-18", "flow")
    ]
    merged = table(db_path, "merged_reviews", report_bill_no="1050926070300100")
    # provenance of each link: the LYAPI record that carries it
    assert all(r["source_url"].startswith("https://ly.govapi.tw/v2/bills/") for r in merged)
    # the stored bills the report merges, each by a 關連議案 link (the other two are not stored)
    assert {(r["bill_no"], r["kind"]) for r in merged} == {
        ("1050219070203400", "related"),
        ("1050616070200500", "related"),
    }


def test_companion_third_reading_is_its_own_sources_not_borrowed(db_path: Path) -> None:
    """1050616070200500 passed with the report that merged it; no record of the report is
    stored, so its companion 1050219070203400's 三讀 is not borrowed: lis' 進度 for this bill
    itself (1051118 三讀) is the evidence."""
    [row] = third_reading(db_path, "1050616070200500")
    assert (row["on"], row["origin"], row["evidence_kind"]) == ("2016-11-18", "source", "source-event")
    assert "lis" in row["evidence"] and "1050219070203400" not in row["evidence"]
    [bill] = table(db_path, "bills", bill_no="1050616070200500")
    assert (bill["status_raw"], bill["current_stage"]) == ("審查完畢", "third-reading")


def test_long_term_care_act_third_reading_despite_status(db_path: Path) -> None:
    [bill] = table(db_path, "bills", bill_no="1050226070202600")
    assert (bill["status_raw"], bill["current_stage"]) == ("審查完畢", "third-reading")
    assert third_reading(db_path, "1050226070202600")


def test_nuclear_safety_bill_ends_withdrawn_despite_status(db_path: Path) -> None:
    [bill] = table(db_path, "bills", bill_no="1050202070100500")
    assert (bill["status_raw"], bill["current_stage"]) == ("排入院會", "withdrawn")


def test_promulgation_follows_third_reading(db_path: Path) -> None:
    # 1051004070200200 (內政部組織法 §18): lis 三讀 2017-05-26, lis version 106年6月14日公布
    timeline = query(db_path, "bill_timeline", bill_no="1051004070200200")
    rows = [r for r in timeline if r["origin"] != "field" and not r["gone_at"]]
    assert [r["stage"] for r in timeline if r["gone_at"]] == []  # no expiry was ever derived: 2018 data
    assert [(r["stage"], r["on"]) for r in rows[-2:]] == [
        ("third-reading", "2017-05-26"),
        ("promulgated", "2017-06-14"),
    ]
    assert "中華民國106年6月14日公布" in rows[-1]["note"]


# --- 5, 6: health and names ------------------------------------------------------------------


def test_placeholder_page_is_a_problem_not_data(db_path: Path) -> None:
    problems = table(db_path, "problems", spider="tw_ly_ppg")
    assert [(p["kind"], p["bill_no"]) for p in problems] == [("placeholder-page", "1051006070201300")]
    assert table(db_path, "source_bills", source="ppg", bill_no="1051006070201300") == []


def test_sponsors_are_legislators_across_spellings(db_path: Path) -> None:
    [tsai] = table(db_path, "sponsors", bill_no=CIO_BILL, name_raw="鄭天財Sra．Kacaw")
    assert tsai["legislator_id"] == "鄭天財"
    [person] = table(db_path, "legislators", id="鄭天財")
    assert "鄭天財Sra．Kacaw" in json.loads(person["aliases"]) and json.loads(person["terms"]) == [9]
    [han] = table(db_path, "legislators", id="韓國瑜")  # from the LYAPI roster (term 11)
    assert (json.loads(han["terms"]), han["source"]) == ([11], "lyapi")
    linked = table(db_path, "sponsors", legislator_id="谷辣斯．尤達卡")
    assert linked and all(s["kind"] == "legislator" for s in linked)
    # caucuses are sponsors of their own kind (lis lists 時代力量黨團 as 主提案), never legislators
    caucus_bills = [
        r for r in table(db_path, "source_bills", source="lis") if "時代力量黨團" in r["proposers"]
    ]
    assert caucus_bills
    assert not [p for p in table(db_path, "legislators") if p["id"].endswith("黨團")]


def test_term_drift_fails_the_crawl_loudly(tmp_path: Path, replay: ReplayServer) -> None:
    result = run_crawl(
        tmp_path / "drift.db",
        replay.base_url,
        spider="tw_ly_opendata",
        extra_settings={"TRACKED_TERMS": "10,11", "IGNORED_TERMS": "1,2,3,4,5,6,7,8"},
    )
    assert result.returncode == 1
    assert "crawl failed: opendata lists term 9" in result.stdout
    assert "neither track (TRACKED_TERMS) nor ignore (IGNORED_TERMS)" in result.stdout


def test_crawling_everything_again_changes_nothing(db_path: Path, samples_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again.db"
    shutil.copy(db_path, copy)
    queries = {
        "stages": 'select bill_no, seq, stage, "on", gone_at is null from stages order by 1, 2',
        "stage_sources": "select bill_no, seq, source, role from stage_sources order by 1, 2, 3",
        "disagreements": "select id, bill_no, field, summary, superseded_at is null from disagreements "
        "order by id",
        "source_bills": "select source, source_key, bill_no, record_sha256 from source_bills order by 1, 2",
        "bills": "select bill_no, current_stage, current_stage_on, title, filed_on, sources from bills "
        "order by 1",
        "sponsors": "select bill_no, role, seq, legislator_id from sponsors order by 1, 2, 3",
    }
    before = {k: list(sqlite_utils.Database(copy).execute(q).fetchall()) for k, q in queries.items()}
    result = run_cli_crawl(copy, samples_dir)
    assert result.returncode == 0, result.stderr[-2000:]
    after = {k: list(sqlite_utils.Database(copy).execute(q).fetchall()) for k, q in queries.items()}
    assert after == before
