"""The record as it was (issue 13): the bill page and `bill_as_of` over the two-snapshot crawl.
Snapshot A lacks the CIO bill's 尚未審查 (2017-03-22); B, crawled a second later, has it, so the
bill has two stored versions and each change of its history names the one it produced."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from billtracker.serve.datasette import datasette_app
from billtracker.serve.read.asof import end_of_day, parse_day
from pipelines.normalise.stage_machine import taipei_day
from pipelines.schema.functions import register_functions
from tests.conftest import CIO_BILL, TODAY


def get(db_path: Path, path: str) -> Any:
    async def fetch():  # type: ignore[no-untyped-def]
        return await datasette_app(db_path).client.get(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BILLTRACKER_TODAY", TODAY)
        return asyncio.run(fetch())


def soup_of(db_path: Path, path: str) -> BeautifulSoup:
    response = get(db_path, path)
    assert response.status_code == 200, response.text[:1000]
    return BeautifulSoup(response.text, "html.parser")


def stages(soup: BeautifulSoup) -> list[str]:
    return [li["data-stage"] for li in soup.select(".bt-timeline li.stage")]


def crawl_day(db_path: Path) -> str:
    with register_functions(sqlite3.connect(db_path)) as conn:  # bill_versions is a view
        return taipei_day(conn.execute("select max(detected_at) from bill_versions").fetchone()[0])


def test_end_of_day_and_parse() -> None:
    assert end_of_day(date(2026, 11, 26)) == "2026-11-26T16:00:00Z"
    assert parse_day("2026-11-26") == date(2026, 11, 26)
    assert parse_day("2026-13-01") is None and parse_day("20261126") is None


@pytest.mark.slow
def test_each_version_as_billtracker_read_it(history_crawl: dict) -> None:
    db = history_crawl["db"]
    first = soup_of(db, f"/-/bill/{CIO_BILL}?version=1")
    assert stages(first) == ["filed", "first-reading", "referred"]  # snapshot A: no 尚未審查 yet
    assert first.select_one(".bt-version-banner")["data-version"] == "1"
    assert first.select_one("a[href='/-/bill/1051006070201100?version=2']")  # the later version
    current = first.select_one("dd.current")
    assert current["data-stage"] == "referred"
    assert first.select_one("dd.evidence")["data-evidence-kind"]  # never a stage without evidence
    assert "as of 2018-11-01" in first.select_one(".bt-caveat").get_text()  # nor without its caveat
    second = soup_of(db, f"/-/bill/{CIO_BILL}?version=2")
    assert stages(second)[-1] == "committee-listed"
    assert "No later version" in second.select_one(".bt-version-banner").get_text()


@pytest.mark.slow
def test_as_of_a_day(history_crawl: dict) -> None:
    db = history_crawl["db"]
    day = crawl_day(db)
    soup = soup_of(db, f"/-/bill/{CIO_BILL}?as_of={day}")
    assert soup.select_one(".bt-version-banner")["data-version"] == "2"  # the newest that day
    before = soup_of(db, f"/-/bill/{CIO_BILL}?as_of=2016-01-01")
    assert before.select_one("#bt-not-yet") and not before.select(".bt-timeline")
    assert get(db, f"/-/bill/{CIO_BILL}?as_of=yesterday").status_code == 400
    assert get(db, f"/-/bill/{CIO_BILL}?version=99").status_code == 404


@pytest.mark.slow
def test_history_links_each_change_to_its_version(history_crawl: dict) -> None:
    db = history_crawl["db"]
    soup = soup_of(db, f"/-/bill/{CIO_BILL}")
    items = soup.select(".bt-history li[data-change]")
    with register_functions(sqlite3.connect(db)) as conn:  # bill_versions is a view
        expected = {r[0] for r in conn.execute("select id from changes where bill_no = ?", [CIO_BILL])}
        produced = dict(
            conn.execute(
                "select c.id, v.version from changes c join bill_versions v "
                "on v.bill_no = c.bill_no and v.run_id = c.run_id where c.bill_no = ?",
                [CIO_BILL],
            )
        )
    assert {int(li["data-change"]) for li in items} == expected
    added = next(li for li in items if "尚未審查" in li.get_text() and li.get("data-version"))
    assert added["data-version"] == "2" == str(produced[int(added["data-change"])])
    link = added.select_one("a[href*='?version=']")["href"]
    assert stages(soup_of(db, link))[-1] == "committee-listed"  # the version it produced has it
    assert timeline_unchanged(soup)


def timeline_unchanged(soup: BeautifulSoup) -> bool:
    """The bill page itself still shows today's record (the history is an addition)."""
    return stages(soup)[-1] == "committee-listed" and soup.select_one(".bt-caveat") is not None


@pytest.mark.slow
def test_json_query(history_crawl: dict) -> None:
    db = history_crawl["db"]
    day = crawl_day(db)
    rows = get(db, f"/billtracker/bill_as_of.json?bill_no={CIO_BILL}&as_of={day}&_shape=array").json()
    assert [(r["version"], r["versions"]) for r in rows] == [(2, 2)]
    assert json.loads(rows[0]["flow"])[-1]["狀態"] == "尚未審查"
    assert json.loads(rows[0]["record"])["議案編號"] == CIO_BILL
    before = get(db, f"/billtracker/bill_as_of.json?bill_no={CIO_BILL}&as_of=2016-01-01&_shape=array")
    assert before.json() == []
