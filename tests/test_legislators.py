"""A legislator's page, JSON query and Atom feed (issue 13) over the full crawl, in-process:
one identity across spellings (鄭天財Sra．Kacaw is 鄭天財), bills proposed and cosponsored with
their stages, evidence and caveats, how far they got, days in stage; every sponsor name on a bill
page links to it."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from datetime import date
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
from bs4 import BeautifulSoup
from datasette.utils import tilde_encode

from billtracker.serve.datasette import datasette_app
from billtracker.serve.read.legislators import furthest
from tests.conftest import CIO_BILL, TODAY


def get(db_path: Path, path: str) -> tuple[int, str]:
    async def fetch():  # type: ignore[no-untyped-def]
        return await datasette_app(db_path).client.get(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BILLTRACKER_TODAY", TODAY)
        response = asyncio.run(fetch())
    return response.status_code, response.text


def page(db_path: Path, key: str) -> BeautifulSoup:
    status, html = get(db_path, f"/-/legislator/{tilde_encode(key)}")
    assert status == 200, html[:2000]
    return BeautifulSoup(html, "html.parser")


@pytest.mark.slow
def test_proposer_page(full_crawled_db: Path) -> None:
    soup = page(full_crawled_db, "許毓仁")
    assert "許毓仁" in soup.select_one("h1").get_text()
    proposed = {li["data-bill"]: li for li in soup.select(".bt-role-proposer li[data-bill]")}
    assert CIO_BILL in proposed and len(proposed) == 3
    cio = proposed[CIO_BILL]
    text = cio.get_text(" ", strip=True)
    assert "尚未審查" in text and "committee-listed" in text
    assert cio.select_one(".evidence")["data-evidence-kind"] == "flow"
    assert "as of 2018-11-01" in cio.select_one(".bt-caveat-inline").get_text()  # as on the bill page
    assert cio["data-furthest"] == "committee" and "(3/7)" in text
    days = (date(2018, 11, 1) - date(2017, 3, 22)).days  # counted to the newest record
    assert f"停留 {days} days in stage" in text and "the newest record" in text


@pytest.mark.slow
def test_one_identity_across_spellings(full_crawled_db: Path) -> None:
    soup = page(full_crawled_db, "鄭天財")
    assert "鄭天財Sra．Kacaw" in soup.select_one(".bt-spellings").get_text()
    with sqlite3.connect(full_crawled_db) as conn:
        expected = {
            r[0]
            for r in conn.execute(
                "select bill_no from sponsors where name_raw like '鄭天財%' and kind = 'legislator'"
            )
        }
    shown = {li["data-bill"] for li in soup.select("li[data-bill]")}
    assert expected and shown == expected


@pytest.mark.slow
def test_a_name_the_rosters_do_not_know(full_crawled_db: Path) -> None:
    with sqlite3.connect(full_crawled_db) as conn:
        name, bill_no = conn.execute(
            "select name, bill_no from sponsors where kind = 'legislator' and legislator_id is null limit 1"
        ).fetchone()
    soup = page(full_crawled_db, name)
    assert soup.select_one(".bt-not-in-roster")
    assert bill_no in {li["data-bill"] for li in soup.select("li[data-bill]")}


@pytest.mark.slow
def test_unknown_legislator_is_404(full_crawled_db: Path) -> None:
    assert get(full_crawled_db, f"/-/legislator/{tilde_encode('無此人')}")[0] == 404


@pytest.mark.slow
def test_every_sponsor_name_links_to_its_page(full_crawled_db: Path) -> None:
    status, html = get(full_crawled_db, f"/-/bill/{CIO_BILL}")
    soup = BeautifulSoup(html, "html.parser")
    people = soup.select(".bt-sponsors li.kind-legislator")
    assert len(people) == 20
    for li in people:
        link = li.select_one("a[href^='/-/legislator/']")
        assert link is not None, li
        assert get(full_crawled_db, link["href"])[0] == 200
    kacaw = next(li for li in people if "鄭天財" in li.get_text())
    assert kacaw.select_one("a")["href"] == f"/-/legislator/{tilde_encode('鄭天財')}"


@pytest.mark.slow
def test_json_query_is_the_same_identity(full_crawled_db: Path) -> None:
    status, body = get(
        full_crawled_db, f"/billtracker/legislator_bills.json?legislator={quote('許毓仁')}&_shape=array"
    )
    assert status == 200
    rows = json.loads(body)
    assert {r["bill_no"] for r in rows if r["role"] == "proposer"} >= {CIO_BILL}
    cio = next(r for r in rows if r["bill_no"] == CIO_BILL)
    assert cio["current_stage_evidence"] == "flow" and cio["current_stage_caveat"]


@pytest.mark.slow
def test_feed_parses(full_crawled_db: Path) -> None:
    status, body = get(full_crawled_db, f"/billtracker/legislator_feed.atom?legislator={quote('許毓仁')}")
    assert status == 200
    feed = feedparser.parse(body)
    assert not feed.bozo and feed.version == "atom10" and feed.entries
    assert re.search(r"[\u4e00-\u9fff]", feed.feed.title)
    with sqlite3.connect(full_crawled_db) as conn:
        bills = {r[0] for r in conn.execute("select bill_no from sponsors where legislator_id = '許毓仁'")}
    assert {e.link.split("/")[-2] for e in feed.entries} <= bills
    assert all(re.fullmatch(r"tag:billtracker,2016:change/\d+", e.id) for e in feed.entries)


def test_furthest() -> None:
    assert furthest(["filed", "first-reading", "referred", "committee-listed"])["key"] == "committee"
    assert furthest([])["step"] == 0
    out = furthest(["filed", "referred", "third-reading", "promulgated"])
    assert (out["key"], out["step"], out["ending"]) == ("promulgated", 7, "")
    assert furthest(["filed", "withdrawn"])["ending"] == "withdrawn"
