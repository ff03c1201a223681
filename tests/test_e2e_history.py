"""Acceptance for issue 4 on the replay: snapshot A crawled in full, then snapshot B (in which
four bills gained their last 議案流程 entry) by the incremental job; what changed is exactly
what B added, the watch 資訊長 covers the CIO bills, and the per-bill feed is valid Atom."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import feedparser
import pytest
import sqlite_utils
from click.testing import CliRunner

from billtracker.cli import cli
from billtracker.serve.datasette import datasette_app
from billtracker.serve.plugins.api import CHANGES_PAGE_SIZE
from tests.conftest import CIO_BILL, REWOUND, run_crawl

pytestmark = pytest.mark.slow

CIO_BILLS = {"1051006070201100", "1051006070201200", "1051006070201300", "1051027070201000"}


def get(db_path: Path, path: str) -> Any:
    async def fetch() -> Any:
        return await datasette_app(db_path).client.get(path)

    return asyncio.run(fetch())


def rows(db_path: Path, query: str, **params: str) -> list[dict[str, Any]]:
    response = get(db_path, f"/billtracker/{query}.json?{urlencode({**params, '_shape': 'array'})}")
    assert response.status_code == 200, response.text
    return response.json()


def test_changes_since_b_are_exactly_the_added_stages(history_crawl: dict) -> None:
    db = history_crawl["db"]
    added = rows(db, "changes_since", since=history_crawl["started_b"], kind="stage-added")
    got = sorted((r["bill_no"], r["new_value"]) for r in added)
    removed = history_crawl["removed"]
    assert [bill for bill, _ in got] == sorted(REWOUND)
    for bill_no, text in got:  # each names the status and date upstream published
        entry = removed[bill_no]
        assert entry["狀態"].strip() in text and entry["日期"][0] in text, (bill_no, text)


def test_every_change_of_b_concerns_a_rewound_bill(history_crawl: dict) -> None:
    """...and only those: 1050219070203400's 三讀 (gained in B) is not its merged companion
    1050616070200500's evidence (issue 10: no pass is borrowed from another proposal)."""
    changes = rows(history_crawl["db"], "changes_since", since=history_crawl["started_b"])
    assert {r["bill_no"] for r in changes} == set(REWOUND)
    kinds = {(r["bill_no"], r["kind"]) for r in changes}
    # 1050219070203400 gained 三讀; 1060418070200100 gained 撤案.
    assert ("1050219070203400", "current-stage-changed") in kinds
    third = next(
        r for r in changes if r["kind"] == "current-stage-changed" and r["bill_no"] == "1050219070203400"
    )
    assert (third["old_value"], third["new_value"]) == ("committee-reported", "third-reading")
    assert all(r["run_id"] == history_crawl["run_b"]["id"] for r in changes)


def test_first_crawl_recorded_every_bill_as_new(history_crawl: dict) -> None:
    db = sqlite_utils.Database(history_crawl["db"])
    new = {r["bill_no"] for r in db["changes"].rows_where("kind = 'new-bill'")}
    assert new == {r["bill_no"] for r in db["bills"].rows}
    assert len(new) == 28


def test_bill_versions_only_when_the_hash_changes(history_crawl: dict) -> None:
    db = sqlite_utils.Database(history_crawl["db"])
    versions = dict(db.execute("select bill_no, count(*) from bill_versions group by bill_no").fetchall())
    assert {b for b, n in versions.items() if n == 2} == set(REWOUND)
    assert set(versions.values()) == {1, 2}
    v1, v2 = db.execute(
        "select record, record_sha256 from bill_versions where bill_no = ? order by version", [CIO_BILL]
    ).fetchall()
    assert v1[1] != v2[1] and len(v2[0]) > len(v1[0])
    bill = db["bills"].get(CIO_BILL)
    assert v2[1] == bill["record_sha256"]


def test_incremental_fetches_only_changed_bills(history_crawl: dict) -> None:
    requests = history_crawl["requests_b"]
    details = sorted(r.removeprefix("/v2/bills/") for r in requests if r.startswith("/v2/bills/"))
    lists = [r for r in requests if r.startswith("/v2/bills?")]
    assert details == sorted(REWOUND)
    assert lists and not any("sort=" in r for r in lists)  # the code's default order, checked
    assert len(requests) <= len(lists) + len(REWOUND) + 1  # + robots.txt
    run = history_crawl["run_b"]
    assert (run["status"], run["mode"], run["updates"], run["inserts"]) == ("ok", "incremental", 4, 0)


def test_runs_recorded(history_crawl: dict) -> None:
    db = sqlite_utils.Database(history_crawl["db"])
    first, second = db["scrape_runs"].rows_where(order_by="id")
    assert (first["status"], first["mode"], first["job"], first["inserts"]) == ("ok", "full", "cli", 28)
    assert first["requests"] > second["requests"] > 0
    assert (second["job"], second["exit_code"], second["attempt"], second["flagged"]) == (
        "incremental",
        0,
        1,
        0,
    )
    assert second["started_at"] >= first["ended_at"]
    health = rows(history_crawl["db"], "health")
    assert [(h["spider"], h["last_ok_run"], h["stale"]) for h in health] == [("tw_ly_bills", second["id"], 0)]


def test_progress_printed_while_crawling(history_crawl: dict) -> None:
    lines = [line for line in history_crawl["stderr_a"].splitlines() if "progress:" in line]
    assert lines, "no progress line"
    assert "items" in lines[-1] and "requests" in lines[-1] and "problems" in lines[-1]


def test_watch_cio_covers_the_cio_bills(history_crawl: dict) -> None:
    db = sqlite_utils.Database(history_crawl["db"])
    watched = {
        r[0]
        for r in db.execute(
            "select distinct c.bill_no from change_watches w join changes c on c.id = w.change_id"
            " where w.watch = 'cio'"
        )
    }
    assert watched == CIO_BILLS
    for bill_no in watched:
        bill = db["bills"].get(bill_no)
        assert "資訊長" in bill["title"] + bill["reason"]
    feed = feedparser.parse(get(history_crawl["db"], "/billtracker/watch_feed.atom?watch=cio").text)
    assert not feed.bozo and {e.link.split("/")[-2] for e in feed.entries} == CIO_BILLS


def test_bill_feed_is_atom(history_crawl: dict) -> None:
    response = get(history_crawl["db"], f"/billtracker/bill_feed.atom?bill_no={CIO_BILL}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    feed = feedparser.parse(response.text)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "billtracker：議案異動"
    kinds = [e.title for e in feed.entries]
    assert any(t.startswith("【新進度】「行政院組織法第六條條文修正草案」") for t in kinds), kinds
    assert any(t.startswith("【新議案】") for t in kinds)
    for entry in feed.entries:
        assert entry.id.startswith("tag:billtracker,2016:change/")
        assert entry.link == f"https://ppg.ly.gov.tw/ppg/bills/{CIO_BILL}/details"
        assert entry.updated_parsed is not None
    # Stable ids: the same feed fetched again names the same entries.
    again = feedparser.parse(get(history_crawl["db"], f"/billtracker/bill_feed.atom?bill_no={CIO_BILL}").text)
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]


def test_history_command(history_crawl: dict) -> None:
    result = CliRunner().invoke(cli, ["history", CIO_BILL, "--db", str(history_crawl["db"])])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "new-bill" in lines[0]
    assert any("stage-added" in line and "尚未審查" in line for line in lines[1:])
    missing = CliRunner().invoke(cli, ["history", "999", "--db", str(history_crawl["db"])])
    assert missing.exit_code == 1 and "999: not in" in missing.output


def test_vanished_stage_is_marked_not_deleted(history_crawl: dict, tmp_path: Path) -> None:
    """Crawl A again over a copy: B's extra stages disappear upstream; they stay, marked gone_at."""
    src = sqlite_utils.Database(history_crawl["db"])
    copy = tmp_path / "again.db"
    src.execute("VACUUM INTO ?", [str(copy)])
    server = history_crawl["server"]
    from billtracker.replay.snapshots import rewind

    server.data, _ = rewind(history_crawl["snapshot_b"], REWOUND)
    try:
        result = run_crawl(copy, server.base_url)
    finally:
        server.data = history_crawl["snapshot_b"]
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite_utils.Database(copy)
    gone = db.execute("select bill_no, status_raw from stages where gone_at is not null and origin = 'flow'")
    assert sorted(b for b, _ in gone.fetchall()) == sorted(REWOUND)
    # Besides flow entries, only derived rows whose evidence vanished with them are withdrawn
    # (issue 3: 1050616070200500's third reading came from 1050219070203400's 三讀, rewound in A).
    derived = db.execute("select bill_no, note from stages where gone_at is not null and origin != 'flow'")
    assert all("evidence gone" in note for _, note in derived.fetchall())
    before = src.execute("select count(*) from stages").fetchone()[0]
    assert db.execute("select count(*) from stages").fetchone()[0] == before


def test_changes_since_pages_with_link_header(history_crawl: dict, tmp_path: Path) -> None:
    """Keyset paging: more than a page of changes, followed through rel=next to the end."""
    db_path = tmp_path / "billtracker.db"
    sqlite_utils.Database(history_crawl["db"]).execute("VACUUM INTO ?", [str(db_path)])
    db = sqlite_utils.Database(db_path)
    template = db.execute("select * from changes where bill_no = ? limit 1", [CIO_BILL]).fetchone()
    columns = [c.name for c in db["changes"].columns]
    extra = [{**dict(zip(columns, template, strict=True)), "id": None} for _ in range(2 * CHANGES_PAGE_SIZE)]
    db["changes"].insert_all(extra, pk="id")
    total = db["changes"].count
    seen: list[int] = []
    url = "/billtracker/changes_since.json?since=&_shape=array"
    pages = 0
    while url:
        response = get(db_path, url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=60"
        assert "link" in response.headers["access-control-expose-headers"].lower()
        seen += [r["id"] for r in response.json()]
        link = response.headers.get("link")
        url = link.split(">")[0].lstrip("<").split("localhost", 1)[-1] if link else ""
        pages += 1
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == total
    assert pages == total // CHANGES_PAGE_SIZE + 1


def test_since_accepts_taipei_offsets_and_dates(history_crawl: dict) -> None:
    """since=...+08:00 means the same instant as the UTC form; a date means its UTC midnight."""
    from datetime import datetime, timedelta, timezone

    started = datetime.fromisoformat(history_crawl["started_b"].replace("Z", "+00:00"))
    taipei = started.astimezone(timezone(timedelta(hours=8))).isoformat()
    db = history_crawl["db"]
    utc_rows = rows(db, "changes_since", since=history_crawl["started_b"])
    assert rows(db, "changes_since", since=taipei) == utc_rows
    assert rows(db, "changes_since", since="2999-01-01") == []
    assert len(rows(db, "changes_since", since="2000-01-01")) == len(rows(db, "changes_since"))
