"""Same inputs, same database: the shared corpus crawled in another order, and crawled after a
kill -9 mid-crawl, stores the same facts as a clean crawl, row for row.

"Facts" are every table a staffer or the API reads (bills, live stages, sponsors, links,
readings, open disagreements, problems ...). What legitimately differs between two runs is left
out: fetch and bookkeeping times, the replay's port in URLs, run history (scrape_runs, fetches,
changes, bill_versions, stages marked gone: a killed run or an early reading *is* history) and
how often a problem was seen. That history may only hold what reconcile derived and later
withdrew, never a stage a source published.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from billtracker.jobs.spiders import SPIDERS
from tests.conftest import TODAY

FACT_TABLES = (
    "bills",
    "stages",
    "sponsors",
    "laws",
    "bill_laws",
    "related_bills",
    "documents",
    "articles",
    "merged_reviews",
    "source_bills",
    "source_stages",
    "stage_sources",
    "disagreements",
    "legislators",
    "law_versions",
    "law_histories",
    "lis_law_versions",
    "problems",
)
# Bookkeeping, not facts: when a run saw something, and row ids assigned in arrival order.
IGNORED = re.compile(r"(_at|^id|^times|^rowid)$")
ORIGIN = re.compile(r"https?://127\.0\.0\.1:\d+")
TIMESTAMP = re.compile(r'"fetched_at": "[^"]*"')


def facts(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact row, bookkeeping columns dropped, the replay origin masked, sorted."""
    out = {}
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
        for table in FACT_TABLES:
            if table not in names:
                continue
            columns = [
                r[1] for r in conn.execute(f"pragma table_info([{table}])") if not IGNORED.search(r[1])
            ]
            where = {
                "disagreements": " where superseded_at is null",
                "stages": " where gone_at is null",
                "problems": " where resolved_at is null",
            }.get(table, "")
            rows = conn.execute(f"select {', '.join(f'[{c}]' for c in columns)} from [{table}]{where}")
            masked = [tuple(mask(v) for v in row) for row in rows]
            out[table] = sorted(masked, key=repr)
    return out


def withdrawn_origins(db: Path) -> set[str]:
    """Origins of the stages a run marked gone."""
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("select distinct origin from stages where gone_at is not null")}


def mask(value: Any) -> Any:
    if isinstance(value, str):
        return TIMESTAMP.sub('"fetched_at": ""', ORIGIN.sub("REPLAY", value))
    return value


def crawl_command(db: Path, samples_dir: Path, corpus_dir: Path, spiders: list[str]) -> list[str]:
    cmd = [sys.executable, "-m", "billtracker.cli", "crawl", *spiders, "--replay", str(samples_dir)]
    return cmd + ["--corpus", str(corpus_dir), "--db", str(db), "--today", TODAY]


def assert_same_facts(got: Path, want: Path) -> None:
    mine, theirs = facts(got), facts(want)
    assert set(mine) == set(theirs)
    for table in theirs:
        extra = sorted(set(mine[table]) - set(theirs[table]), key=repr)[:3]
        missing = sorted(set(theirs[table]) - set(mine[table]), key=repr)[:3]
        assert mine[table] == theirs[table], f"{table}: extra {extra}, missing {missing}"


@pytest.mark.slow
def test_the_clean_crawl_is_not_trivially_empty(corpus_crawl: tuple[Path, str]) -> None:
    tables = facts(corpus_crawl[0])
    assert len(tables["bills"]) > 3500 and len(tables["merged_reviews"]) > 1000
    assert tables["disagreements"] and tables["problems"] and tables["source_bills"]


@pytest.mark.slow
def test_records_in_another_order_make_the_same_database(
    corpus_crawl: tuple[Path, str], samples_dir: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    """The spiders in reverse order: every secondary source's reading, roster and law arrives
    before the LYAPI record it belongs to, and is reconciled before and after it."""
    db = tmp_path / "reversed.db"
    result = subprocess.run(
        crawl_command(db, samples_dir, corpus_dir, list(reversed(SPIDERS))),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_facts(db, corpus_crawl[0])
    # a 三讀 derived from dataset 20 before LYAPI's own flow arrived is withdrawn, kept as history
    assert withdrawn_origins(db) <= {"derived", "source"}


def bill_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("select count(*) from bills").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.faults
@pytest.mark.slow
def test_kill_9_then_recrawl_makes_the_same_database(
    corpus_crawl: tuple[Path, str], samples_dir: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "killed.db"
    cmd = crawl_command(db, samples_dir, corpus_dir, [])
    with tempfile.TemporaryFile() as log:
        # its own session: the kill takes the CLI, its replay and the scrapy child together
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 300
        while bill_count(db) < 1000 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"the crawl ended before it could be killed: {log.read()[-2000:]!r}")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed = bill_count(db)
    assert 1000 <= killed < 3500
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    problems = facts(db)["problems"]
    assert len(problems) == len(set(problems))  # a problem seen in both runs is one row, counted
    assert_same_facts(db, corpus_crawl[0])
    assert withdrawn_origins(db) <= {"derived", "source"}
