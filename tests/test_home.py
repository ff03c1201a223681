"""The staffers' home at `/` (issue 13) through an in-process Datasette over the full crawl:
what changed today and this week (from `changes`), agendas, stuck bills, watches, raw tables;
and Datasette's own index still reachable at /-/index and /.json."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from billtracker.serve.datasette import datasette_app
from billtracker.serve.read.home import grouped, utc_bounds
from pipelines.normalise.stage_machine import taipei_day
from tests.conftest import TODAY


def data_day(db_path: Path) -> str:
    """The Taipei day of the crawl's newest change: "today" for a test that wants changes today."""
    with sqlite3.connect(db_path) as conn:
        return taipei_day(conn.execute("select max(detected_at) from changes").fetchone()[0])


def get(db_path: Path, path: str, today: str) -> tuple[int, str]:
    async def fetch():  # type: ignore[no-untyped-def]
        return await datasette_app(db_path).client.get(path)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BILLTRACKER_TODAY", today)
        response = asyncio.run(fetch())
    return response.status_code, response.text


def home(db_path: Path, today: str) -> BeautifulSoup:
    status, html = get(db_path, "/", today)
    assert status == 200, html[:2000]
    return BeautifulSoup(html, "html.parser")


def test_utc_bounds_are_taipei_days() -> None:
    assert utc_bounds(date(2026, 11, 26), date(2026, 12, 2)) == (
        "2026-11-25T16:00:00Z",
        "2026-12-02T16:00:00Z",
    )


@pytest.mark.slow
def test_changes_today_grouped_by_law_and_committee(full_crawled_db: Path) -> None:
    day = data_day(full_crawled_db)
    soup = home(full_crawled_db, day)
    assert soup.select_one("#bt-today")["datetime"] == day
    groups = soup.select("#bt-today-changes section.bt-group")
    labels = [(g["data-law"], g["data-committee"]) for g in groups]
    assert ("內政部組織法", "司法及法制委員會") in labels and ("國立中正紀念堂管理處組織法", "") in labels
    assert len(labels) == len(set(labels))  # one group per law and committee
    newest = [max(int(li["data-change"]) for li in g.select("li.bt-change")) for g in groups]
    assert newest == sorted(newest, reverse=True)  # the group with the newest change first
    interior = next(g for g in groups if g["data-law"] == "內政部組織法")
    kinds = [li["class"][1] for li in interior.select("li.bt-change")]
    assert kinds == ["kind-current-stage-changed", "kind-stage-added"]  # newest first
    text = interior.get_text(" ", strip=True)
    assert "三讀 2017-05-26" in text and "公布 promulgated" in text
    assert "法律沿革" in text  # the current stage names its evidence
    assert interior.select_one("a[href='/-/law/01032']") or interior.select_one("a[href^='/-/law/']")


@pytest.mark.slow
def test_every_stage_shown_carries_its_caveat(full_crawled_db: Path) -> None:
    """Where the bill page shows a caveat, the home shows it beside the same stage."""
    soup = home(full_crawled_db, data_day(full_crawled_db))
    with sqlite3.connect(full_crawled_db) as conn:
        caveats = dict(conn.execute("select bill_no, current_stage_caveat from bills"))
    shown = soup.select("li.bt-change")
    assert shown
    for li in shown:
        caveat = caveats[li["data-bill"]]
        note = li.select_one(".bt-caveat-inline")
        assert (note is not None) == bool(caveat), li["data-bill"]
        if caveat:
            assert caveat in note.get_text()
        assert li.select_one(".bt-current .evidence")


@pytest.mark.slow
def test_week_window_and_a_quiet_today(full_crawled_db: Path) -> None:
    """With the clock frozen before the crawl, nothing changed "today" and the page says when the
    newest change was recorded: the wall clock plays no part."""
    day = data_day(full_crawled_db)
    frozen = "2020-01-01"  # long before any crawl
    soup = home(full_crawled_db, frozen)
    assert not soup.select("#bt-today-changes section")
    empty = soup.select_one("p#bt-today-changes").get_text()
    assert "No stage changed today" in empty and day in empty
    week = soup.select_one(".bt-home-week").get_text(" ", strip=True)
    assert "0 stage change(s)" in week


@pytest.mark.slow
def test_agenda_says_what_the_data_lacks(full_crawled_db: Path) -> None:
    soup = home(full_crawled_db, data_day(full_crawled_db))
    section = soup.select_one(".bt-home-agenda")
    assert "does not crawl committee agendas" in section.select_one(".bt-data-note").get_text()
    assert section.select_one("#bt-agenda-empty")  # the samples end in 2018


@pytest.mark.slow
def test_agenda_lists_committee_sittings_of_the_week(full_crawled_db: Path) -> None:
    soup = home(full_crawled_db, "2017-03-24")  # the CIO bill was listed on 2017-03-22
    items = soup.select(".bt-agenda li")
    assert "1051006070201100" in [li["data-bill"] for li in items]
    assert all(li["data-stage"] in {"committee-listed", "committee-review"} for li in items)


@pytest.mark.slow
def test_stuck_watches_and_raw_tables(full_crawled_db: Path) -> None:
    soup = home(full_crawled_db, data_day(full_crawled_db))
    stuck = soup.select(".bt-stuck-list li")
    assert stuck and len(stuck) <= 10
    assert "newest record" in stuck[0].get_text()  # open spells end at the data's last day
    watches = {li["data-watch"]: li for li in soup.select(".bt-watches > li")}
    assert {"cio", "cio-bill", "executive-yuan-organisation-act"} <= set(watches)
    cio = watches["cio-bill"]
    assert cio.select_one("a[href='/billtracker/watch_feed.atom?watch=cio-bill']")
    assert cio.select("li[data-change]")
    hrefs = {a["href"] for a in soup.select(".bt-tables a")}
    assert {"/billtracker/bills", "/billtracker/changes", "/billtracker", "/-/index"} <= hrefs
    assert len(soup.select("input[type=search]")) == 1  # one search box


@pytest.mark.slow
def test_datasette_index_stays_reachable(full_crawled_db: Path) -> None:
    status, html = get(full_crawled_db, "/-/index", TODAY)
    assert status == 200 and 'href="/billtracker"' in html and "tables" in html
    status, body = get(full_crawled_db, "/.json", TODAY)
    assert status == 200 and '"billtracker"' in body
    status, _ = get(full_crawled_db, "/billtracker", TODAY)
    assert status == 200


def test_grouping_keeps_first_seen_order() -> None:
    def change(i: int, law: str, committee: str) -> dict:
        return {"id": i, "laws": [{"law_code": law, "name": law}], "committee": committee}

    groups = grouped([change(3, "A", "x"), change(2, "B", "x"), change(1, "A", "x")])
    assert [(g["law"], [c["id"] for c in g["changes"]]) for g in groups] == [("A", [3, 1]), ("B", [2])]


@pytest.mark.slow
def test_this_week_counts_today_and_lists_the_earlier_days(full_crawled_db: Path) -> None:
    soup = home(full_crawled_db, data_day(full_crawled_db))
    today_ids = {li["data-change"] for li in soup.select("#bt-today-changes li.bt-change")}
    week = soup.select_one(".bt-home-week")
    assert f"today's {len(today_ids)} above" in week.get_text(" ", strip=True)
    assert not today_ids & {li["data-change"] for li in week.select("li.bt-change")}
