"""pipelines/problems.py: one row per thing that failed, whichever origin served it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from billtracker.replay import ReplayServer
from pipelines.problems import problem_key, record_problem, without_origin
from pipelines.schema import migrations, open_db
from tests.conftest import run_crawl


def test_without_origin_drops_scheme_host_and_port() -> None:
    assert without_origin("http://127.0.0.1:45373/v2/bills/1?x=1") == "/v2/bills/1?x=1"
    assert without_origin("https://ly.govapi.tw/v2/bills/1") == "/v2/bills/1"


def test_without_origin_inside_a_message() -> None:
    message = "http-404 at http://localhost:1/v2/bills/9: HTTP 404"
    assert without_origin(message) == "http-404 at /v2/bills/9: HTTP 404"


def test_problem_key_ignores_the_port_only() -> None:
    a = problem_key("tw_ly_bills", "http-404", "HTTP 404", "http://127.0.0.1:1/v2/bills/9", "9")
    b = problem_key("tw_ly_bills", "http-404", "HTTP 404", "http://127.0.0.1:2/v2/bills/9", "9")
    other_path = problem_key("tw_ly_bills", "http-404", "HTTP 404", "http://127.0.0.1:1/v2/bills/8", "9")
    other_kind = problem_key("tw_ly_bills", "http-500", "HTTP 404", "http://127.0.0.1:1/v2/bills/9", "9")
    assert a == b
    assert len({a, other_path, other_kind}) == 3


def test_record_problem_from_a_new_port_bumps_times(tmp_path: Path) -> None:
    db = open_db(tmp_path / "p.db")
    record_problem(db, "tw_ly_bills", "http-404", "at http://h:1/x", "http://h:1/x", "9")
    record_problem(db, "tw_ly_bills", "http-404", "at http://h:2/x", "http://h:2/x", "9")
    rows = db.execute("SELECT times, url, message FROM problems").fetchall()
    assert rows == [(2, "http://h:2/x", "at http://h:2/x")]


def test_migration_merges_copies_recorded_under_other_ports(tmp_path: Path) -> None:
    """A database from before the key: the copies each run added become one row."""
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    before = Migrations("billtracker")
    names = [m.name for m in migrations._migrations]
    cut = names.index("i10_problem_key")
    before._migrations = migrations._migrations[:cut]
    before.apply(old)
    for port, seen in ((1, "2026-01-01T00:00:00Z"), (2, "2026-01-02T00:00:00Z")):
        old["problems"].insert(
            {
                "recorded_at": seen,
                "spider": "s",
                "kind": "http-404",
                "message": "HTTP 404",
                "url": f"http://h:{port}/x",
                "bill_no": "9",
                "detail": "{}",
                "last_seen_at": seen,
                "times": 1,
            }
        )
    old.close()
    db = open_db(path)
    assert db.execute("SELECT id, times, last_seen_at, problem_key IS NOT NULL FROM problems").fetchall() == [
        (1, 2, "2026-01-02T00:00:00Z", 1)
    ]


@pytest.mark.slow
def test_two_replays_on_different_ports_leave_one_row_per_problem(tmp_path: Path, samples_dir: Path) -> None:
    """The real engine twice, each time against a new ReplayServer (a new port)."""
    db_path = tmp_path / "twice.db"
    counts = []
    for _ in range(2):
        with ReplayServer(samples_dir=samples_dir) as server:
            result = run_crawl(db_path, server.base_url)
            assert result.returncode == 0, result.stderr[-3000:]
        with sqlite3.connect(db_path) as conn:
            counts.append(conn.execute("SELECT count(*), sum(times), max(times) FROM problems").fetchone())
    (rows_1, times_1, _), (rows_2, times_2, max_2) = counts
    assert rows_1 > 0, "the samples crawl records problems to test with"
    assert rows_2 == rows_1
    assert times_2 == 2 * times_1 and max_2 >= 2
