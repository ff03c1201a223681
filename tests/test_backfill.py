"""`billtracker backfill` (issue 11): the real CLI, real crawls and SQLite, against a replay whose
result window is 1,000 (LYAPI's rules otherwise), so 屆=9 (3,607 corpus bills) must be split."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from billtracker.paths import REPO_ROOT
from billtracker.replay import ReplayServer
from scrapers.tw_ly import window
from tests.conftest import TODAY

WINDOW = 1000
LIMIT = 50  # 50 a page: ~75 pages, so a kill lands midway


@pytest.fixture
def server(samples_dir: Path, corpus_dir: Path) -> Iterator[ReplayServer]:
    from billtracker.replay.corpus import load_corpus
    from billtracker.replay.lyapi import Rules

    with ReplayServer(samples_dir, corpus=load_corpus(corpus_dir), rules=Rules(window=WINDOW)) as replay:
        yield replay


def term9(server: ReplayServer) -> set[str]:
    return {no for no, b in server.data.bills.items() if b.get("屆") == 9}


def backfill_cmd(db: Path, server: ReplayServer, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "billtracker.cli", "backfill", "--db", str(db), "--query", "屆=9"]
    cmd += ["--api", f"{server.base_url}/v2", "--bulk", "--today", TODAY, "--progress-seconds", "0.5"]
    for key, value in {
        "TW_LY_RESULT_WINDOW": str(WINDOW),
        "TW_LY_PAGE_LIMIT": str(LIMIT),
        "TW_LY_FOLLOW_RELATED": "False",
    }.items():
        cmd += ["--setting", f"{key}={value}"]
    return cmd + list(extra)


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def tokens(path_qs: str) -> list[str]:
    return urlsplit(path_qs).query.split("&")


def page_identity(path_qs: str) -> tuple[str, ...]:
    """A list request as the page it names: its tokens minus output_fields, decoded, sorted."""
    parts = urlsplit(path_qs)
    tokens = [unquote(t) for t in parts.query.split("&") if t and not t.startswith("output_fields=")]
    return (parts.path, *sorted(tokens))


def ledger_identity(query_json: str, page: int) -> tuple[str, ...]:
    tokens = window.query_string(json.loads(query_json)) + [f"page={page}", f"limit={LIMIT}"]
    return ("/v2/bills", *sorted(unquote(t) for t in tokens))


def ledger(db: Path) -> list[tuple[str, int, int, str | None, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT query, page, total, done_at, run_id FROM backfill_pages").fetchall()


@pytest.mark.slow
def test_plan_splits_into_leaves_that_fit_and_the_backfill_stores_every_bill(
    tmp_path: Path, server: ReplayServer
) -> None:
    db = tmp_path / "bf.db"
    planned = run(backfill_cmd(db, server, "--plan-only"))
    assert planned.returncode == 0, planned.stderr[-3000:]
    planning = list(server.requests)
    # planning asks for counts only: limit=1 probes and aggs, never a page of bills
    lists = [r for r in planning if r.startswith("/v2/bills?")]
    assert lists and all("limit=1" in tokens(r) for r in lists)
    assert len(lists) == len(planning) - planning.count("/robots.txt")
    rows = ledger(db)
    leaves: dict[str, int] = {}
    for query, _, total, done_at, _ in rows:
        leaves[query] = total
        assert done_at is None
    assert len(leaves) > 3  # 3,607 bills in a 1,000 window: split
    assert all(window.fits(total, LIMIT, WINDOW) for total in leaves.values())
    assert sum(leaves.values()) == len(term9(server))  # the leaves partition the query
    assert len(rows) == sum(window.page_count(t, LIMIT) for t in leaves.values())
    assert f"{len(leaves)} leaf queries" in planned.stdout and "polite" in planned.stdout
    assert "BULK" in planned.stdout

    seen = len(server.requests)
    done = run(backfill_cmd(db, server))
    assert done.returncode == 0, done.stderr[-3000:]
    crawl = server.requests[seen:]
    assert "resuming plan" in done.stderr  # the plan made above, not a new one
    assert not [r for r in crawl if "limit=1" in tokens(r) or "agg=" in r]  # nothing split again
    assert not [r for r in crawl if r.startswith("/v2/bills/")]  # list mode: no detail requests
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("SELECT bill_no FROM bills")}
        statuses = {r[0] for r in conn.execute("SELECT status FROM fetches")}
        status = conn.execute("SELECT status FROM backfill_plans").fetchone()[0]
    assert stored == term9(server)
    assert 413 not in statuses
    assert status == "done"
    assert all(done_at for _, _, _, done_at, _ in ledger(db))
    assert f"{len(rows)}/{len(rows)} pages" in done.stdout and f"{len(stored):,} new bills" in done.stdout


def children(pid: int) -> list[int]:
    """The child processes of pid (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.slow
@pytest.mark.faults
def test_a_backfill_killed_midway_resumes_without_refetching_finished_pages(
    tmp_path: Path, server: ReplayServer
) -> None:
    db = tmp_path / "bf.db"
    slow = ["--setting", "DOWNLOAD_DELAY=0.05", "--setting", "CONCURRENT_REQUESTS=1"]
    slow += ["--setting", "BILLTRACKER_BATCH_SECONDS=0.5"]
    first = subprocess.Popen(
        backfill_cmd(db, server, *slow), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    crawl_pid = None
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if not db.exists():
            continue
        with sqlite3.connect(db) as conn:
            try:
                done = conn.execute("SELECT count(done_at) FROM backfill_pages").fetchone()[0]
                row = conn.execute("SELECT pid FROM scrape_runs WHERE mode = 'backfill'").fetchone()
            except sqlite3.OperationalError:  # tables not created yet
                continue
        if done >= 5 and row and row[0]:
            crawl_pid = int(row[0])
            break
    assert crawl_pid is not None, "the backfill crawl never marked 5 pages done"
    store_children = children(crawl_pid)  # the bulk profile's store process
    assert store_children
    os.kill(crawl_pid, signal.SIGKILL)
    first.communicate(timeout=60)
    assert first.returncode != 0  # the command says the backfill is not done
    deadline = time.monotonic() + 15  # the orphaned store process sees the pipe close and ends
    while any(Path(f"/proc/{pid}").exists() for pid in store_children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in store_children if Path(f"/proc/{pid}").exists()]
    before = ledger(db)
    finished = {ledger_identity(q, p) for q, p, _, done_at, _ in before if done_at}
    unfinished = {ledger_identity(q, p) for q, p, _, done_at, _ in before if not done_at}
    assert finished and unfinished  # killed midway
    with sqlite3.connect(db) as conn:
        stored_at_kill = conn.execute("SELECT count(*) FROM bills").fetchone()[0]
    assert 0 < stored_at_kill < len(term9(server))

    seen = len(server.requests)
    resumed = run(backfill_cmd(db, server))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    asked = [page_identity(r) for r in server.requests[seen:] if r.startswith("/v2/bills?")]
    assert not finished & set(asked)  # no finished page fetched again
    assert set(asked) == unfinished  # and every unfinished one, once each
    assert len(asked) == len(unfinished)
    with sqlite3.connect(db) as conn:
        stored = {r[0] for r in conn.execute("SELECT bill_no FROM bills")}
        runs = conn.execute("SELECT count(DISTINCT run_id) FROM backfill_pages").fetchone()[0]
    assert stored == term9(server)
    assert runs == 2  # pages done by the killed run keep its run_id
    assert "resuming plan" in resumed.stderr
