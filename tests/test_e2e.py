"""End to end: `billtracker crawl --replay` (real CLI, real Scrapy engine, real replay on
127.0.0.1) into a real SQLite file, then the acceptance checks through an in-process Datasette
serving it exactly as `billtracker serve` does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from billtracker.serve.datasette import datasette_app
from tests.conftest import CIO_BILL

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_db(cli_crawl: tuple[Path, str]) -> Path:
    db_path, stderr = cli_crawl  # one `billtracker crawl --replay` shared with test_e2e_sources
    assert "28 bills" in stderr  # the CLI's closing summary line
    return db_path


def get(db_path: Path, path: str) -> tuple[int, dict[str, str], Any]:
    async def fetch() -> Any:
        return await datasette_app(db_path).client.get(path)

    response = asyncio.run(fetch())
    return response.status_code, dict(response.headers), response.json()


def query(db_path: Path, name: str, **params: str) -> list[dict[str, Any]]:
    from urllib.parse import urlencode

    status, _, rows = get(db_path, f"/billtracker/{name}.json?{urlencode(params)}&_shape=array")
    assert status == 200, rows
    return rows


def test_cio_bill_sponsors(cli_db: Path) -> None:
    rows = get(cli_db, f"/billtracker/sponsors.json?bill_no={CIO_BILL}&_shape=array&_size=max")[2]
    proposers = [r for r in rows if r["role"] == "proposer"]
    cosponsors = [r for r in rows if r["role"] == "cosponsor"]
    assert [r["name"] for r in proposers] == ["許毓仁"]
    assert len({r["name"] for r in cosponsors}) == 19
    tsai = [r for r in cosponsors if r["name"] == "鄭天財"]
    assert [r["name_raw"] for r in tsai] == ["鄭天財Sra．Kacaw"]


def test_cio_bill_law(cli_db: Path) -> None:
    rows = get(cli_db, f"/billtracker/bill_laws.json?bill_no={CIO_BILL}&_shape=array")[2]
    assert [r["law_code"] for r in rows] == ["01010"]
    law = get(cli_db, "/billtracker/laws/01010.json?_shape=array")[2]
    assert law[0]["name"] == "行政院組織法"


def test_cio_bill_timeline(cli_db: Path) -> None:
    rows = query(cli_db, "bill_timeline", bill_no=CIO_BILL)
    stages = [(r["stage"], r["on"]) for r in rows if r["origin"] != "field"]
    # No expiry: the samples were captured 2018-11-01, before term 9 ended (see the caveat test)
    assert stages == [
        ("first-reading", "2016-10-14"),
        ("referred", "2016-10-14"),
        ("committee-listed", "2017-03-22"),
    ]
    first, referred, listed = [r for r in rows if r["origin"] != "field"]
    assert first["status_raw"] == "排入院會(交司法及法制委員會)"  # on the plenary agenda
    assert (first["venue"], first["session_code"], first["second_on"]) == ("院會", "09-02-06", "2016-10-18")
    assert referred["committee"] == "司法及法制委員會"
    assert (listed["venue"], listed["status_raw"]) == ("司法及法制委員會", "尚未審查")
    assert {r["evidence_kind"] for r in rows} == {"flow", "field"}
    assert all(r["source_url"] and r["fetched_at"] for r in rows)


def test_cio_bill_current_stage(cli_db: Path) -> None:
    """Where the 2018 records leave it, "as of" their capture: they cannot show it expired."""
    bill = get(cli_db, f"/billtracker/bills/{CIO_BILL}.json?_shape=array")[2][0]
    assert (bill["current_stage"], bill["current_stage_on"]) == ("committee-listed", "2017-03-22")
    assert (bill["current_stage_derived"], bill["current_stage_evidence"]) == (0, "flow")
    assert (
        bill["current_stage_caveat"].startswith("as of 2018-11-01")
        and "2020-01-31" in bill["current_stage_caveat"]
    )
    assert bill["status_raw"] == "交付審查"  # upstream's own word, kept beside ours


def test_law_bills(cli_db: Path) -> None:
    rows = query(cli_db, "law_bills", law="01010")
    bill_nos = {r["bill_no"] for r in rows}
    assert {CIO_BILL, "1051027070200800", "1061218070201500"} <= bill_nos
    cio = next(r for r in rows if r["bill_no"] == CIO_BILL)
    assert (cio["current_stage"], cio["last_on"]) == ("committee-listed", "2017-03-22")
    assert cio["current_stage_caveat"].startswith("as of 2018-11-01")  # the API says it too
    assert query(cli_db, "law_bills", law="行政院組織法") == rows


@pytest.mark.parametrize(
    ("q", "expected"),
    [("資訊總處", CIO_BILL), ("資訊長", CIO_BILL), ("資訊", CIO_BILL), ("組織法第六條", CIO_BILL)],
)
def test_search(cli_db: Path, q: str, expected: str) -> None:
    assert expected in {r["bill_no"] for r in query(cli_db, "search", q=q)}


def test_search_finds_only_matches(cli_db: Path) -> None:
    """Every hit contains the phrase in its title or 案由; a 2-character query (LIKE fallback)
    obeys the same rule."""
    import sqlite_utils

    db = sqlite_utils.Database(cli_db)
    for q in ("勞動基準法", "長照"):
        hits = {r["bill_no"] for r in query(cli_db, "search", q=q)}
        expected = {
            row[0]
            for row in db.execute(
                "select bill_no from bills where instr(title, ?) or instr(reason, ?)", [q, q]
            )
        }
        assert hits == expected and hits, q


def test_json_api_contract(cli_db: Path) -> None:
    status, headers, rows = get(cli_db, f"/billtracker/bills.json?_shape=array&bill_no={CIO_BILL}")
    assert status == 200 and isinstance(rows, list)
    assert headers["access-control-allow-origin"] == "*"


def test_metadata_served(cli_db: Path) -> None:
    status, _, body = get(cli_db, "/-/metadata.json")
    assert status == 200
    db_meta = body["databases"]["billtracker"]
    assert {"bill_timeline", "law_bills", "search"} <= set(db_meta["queries"])
    assert db_meta["tables"]["bills"]["facets"][0] == "current_stage"
    settings = get(cli_db, "/-/settings.json")[2]
    assert settings["suggest_facets"] is False


def test_facets(cli_db: Path) -> None:
    status, _, body = get(cli_db, "/billtracker/bills.json?_facet=current_stage")
    assert status == 200
    counts = {f["value"]: f["count"] for f in body["facet_results"]["current_stage"]["results"]}
    # `crawl` runs every source (issue 3): beside the 3 bills whose own flow has 三讀, lis records
    # 三讀 for 1050616070200500, 1051004070200200 and 1050219070204700, the last two of which lis'
    # law versions then show promulgated. None expired: the records predate the end of term 9.
    assert "expired" not in counts
    assert counts["third-reading"] == 4 and counts["promulgated"] == 2
    assert counts["withdrawn"] == 2
    assert sum(counts.values()) == 28


def test_every_stored_fact_has_provenance(cli_db: Path) -> None:
    import sqlite_utils

    db = sqlite_utils.Database(cli_db)
    for table in ("bills", "stages", "laws"):
        missing = db.execute(f"select count(*) from {table} where source_url is null").fetchone()[0]
        assert missing == 0, table
    assert json.loads(db.execute("select dates from stages limit 1").fetchone()[0]) is not None


def test_facet_bills_by_law(cli_db: Path) -> None:
    status, _, body = get(
        cli_db, "/billtracker/bills.json?_shape=objects&_facet_array=law_codes&law_codes__arraycontains=01010"
    )
    assert status == 200
    assert {r["bill_no"] for r in body["rows"]} >= {CIO_BILL, "1051027070200800", "1061218070201500"}
    counts = {f["value"]: f["count"] for f in body["facet_results"]["law_codes"]["results"]}
    assert counts["01010"] == len(body["rows"])
