"""The chunked reconcile (pipelines/reconcile/) writes the same database whatever the chunks:
every table, row for row, after the same run on copies of the same database, in chunks of 1,000,
of 7 (chunk boundaries everywhere, including between the bills of one merged review) and of 1
(each bill alone, as the per-bill reconcile before it ran) -- on a crawl of the generated corpus
that reconcile has not seen yet, the full replay crawl of every source (merged reviews, lis, open
data, MOJ, legislators), steady re-runs, scoped runs, and inputs changed under it.

(The per-bill reconcile kept as tests/reconcile_once.py was retired with issue 10: it
borrowed a companion's 三讀 and linked reports by headcount, which is what issue 10 forbids.)"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

import pipelines.reconcile as chunked
from billtracker.jobs.profiles import BULK
from billtracker.replay import ReplayServer
from billtracker.replay.scale import TERMS
from pipelines.reconcile import orchestrator
from pipelines.schema import open_db
from tests.conftest import run_crawl

TODAY = date(2026, 11, 26)
NOW = "2026-11-26T02:00:00Z"
MERGED = "1050219070203400"  # merged with companions by report 1050926070300100
SCALE_BILLS = 300
WITHOUT_RECONCILE = {
    "pipelines.store.pipeline.StorePipeline": 300,
    "pipelines.store.sources.SourcePipeline": 310,
}

Prepare = Callable[[sqlite_utils.Database], None]
CHUNKS = {"chunks-of-1000": chunked.CHUNK, "chunks-of-7": 7, "chunks-of-1": 1}


@pytest.fixture(scope="module")
def scale_db(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Path:
    """A backfill of the generated corpus as the crawl stores it, before any reconcile."""
    path = tmp_path_factory.mktemp("chunked") / "scale.db"
    with ReplayServer(samples_dir, scale=SCALE_BILLS) as server:
        settings = {**BULK, "ITEM_PIPELINES": json.dumps(WITHOUT_RECONCILE)}
        result = run_crawl(
            path, server.base_url, queries=[{"屆": t} for t, *_ in TERMS], extra_settings=settings
        )
    assert result.returncode == 0, result.stderr[-3000:]
    db = sqlite_utils.Database(path)
    assert db["bills"].count == SCALE_BILLS
    assert db["stage_sources"].count == 0  # reconcile did not run
    db.close()
    return path


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (full-text index shadow tables aside), in a fixed order."""
    db = sqlite_utils.Database(path)
    try:
        tables = [t for t in db.table_names() if not t.startswith(("bills_fts", "sqlite_"))]
        return {
            t: sorted(map(tuple, db.execute(f"select * from [{t}]").fetchall()), key=repr) for t in tables
        }
    finally:
        db.close()


def reconciled(
    source: Path, work: Path, impl: str, monkeypatch: pytest.MonkeyPatch, only: set[str] | None = None
) -> tuple[dict[str, int], dict[str, list[tuple[Any, ...]]]]:
    """Run one implementation on a copy; its counts and the whole database after."""
    path = Path(tempfile.mkdtemp(dir=work)) / f"{impl}.db"  # a fresh file: no -wal of an earlier copy
    shutil.copy(source, path)
    # where the run reads them (pipelines/reconcile/orchestrator.py), not the package's re-export
    monkeypatch.setattr(orchestrator, "utc_now", lambda: NOW)
    monkeypatch.setattr(orchestrator, "CHUNK", CHUNKS[impl])
    db = open_db(path)
    try:
        counts = chunked.Reconciler(db, TODAY).run(None, only)
    finally:
        db.close()
    return counts, dump(path)


def assert_same(
    source: Path, work: Path, monkeypatch: pytest.MonkeyPatch, only: set[str] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    counts, want = reconciled(source, work, "chunks-of-1000", monkeypatch, only)
    for impl in ("chunks-of-7", "chunks-of-1"):
        got_counts, got = reconciled(source, work, impl, monkeypatch, only)
        assert got_counts == counts, impl
        for table in want:
            assert got[table] == want[table], (impl, table)
    return want


def prepared(source: Path, work: Path, *steps: Prepare) -> Path:
    path = Path(tempfile.mkdtemp(dir=work)) / "input.db"
    shutil.copy(source, path)
    db = open_db(path)
    with db.conn:
        for step in steps:
            step(db)
    db.close()
    return path


def reconcile_once(db: sqlite_utils.Database) -> None:
    chunked.Reconciler(db, TODAY).run()


def reset(db: sqlite_utils.Database) -> None:
    """Reconcile's own outputs gone, as before its first run."""
    for table in ("stage_sources", "disagreements", "merged_reviews"):
        db.execute(f"delete from {table}")
    db.execute("delete from stages where seq >= ?", [chunked.MERGED_SEQ])
    db.execute("update bills set sources = null")


@pytest.mark.slow
def test_scale_backfill_same_in_any_chunks(scale_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    tables = assert_same(scale_db, tmp_path, monkeypatch)
    assert len(tables["stage_sources"]) > 1000  # every flow stage gets its source row
    assert len(tables["changes"]) > SCALE_BILLS  # the crawl's new-bill events and reconcile's own


@pytest.mark.slow
def test_scale_steady_and_scoped_same_in_any_chunks(
    scale_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    db = sqlite_utils.Database(scale_db)
    some = {b for (b,) in db.execute("select bill_no from bills order by bill_no limit 40 offset 100")}
    db.close()

    def change_some(db: sqlite_utils.Database) -> None:
        # stage_sources rows of a few bills disappear and a stage of others changes under reconcile
        db.execute("delete from stage_sources where bill_no in (select bill_no from bills limit 5)")
        db.execute(
            "update stages set gone_at = '2026-11-25T00:00:00Z' "
            "where stage = 'third-reading' and rowid % 3 = 0"
        )

    assert_same(prepared(scale_db, tmp_path, reconcile_once), tmp_path, monkeypatch)
    source = prepared(scale_db, tmp_path, reconcile_once, change_some)
    assert_same(source, tmp_path, monkeypatch)
    assert_same(source, tmp_path, monkeypatch, only=some)


@pytest.mark.slow
def test_every_source_same_in_any_chunks(
    full_crawled_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The replay of every source: merged reviews, lis and open data readings, MOJ 沿革, rosters."""
    tables = assert_same(prepared(full_crawled_db, tmp_path, reset), tmp_path, monkeypatch)
    assert tables["merged_reviews"] and tables["disagreements"]
    assert_same(full_crawled_db, tmp_path, monkeypatch)  # steady
    assert_same(full_crawled_db, tmp_path, monkeypatch, only={MERGED})


@pytest.mark.slow
def test_every_source_changed_inputs_same_in_any_chunks(
    full_crawled_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Inputs changed under reconcile. One difference is on purpose: a scoped run links only its
    own bills' sponsors (the per-bill one walked every sponsor of the database on every run), so
    the scoped comparison leaves sponsors alone."""

    def change(db: sqlite_utils.Database) -> None:
        # a third reading goes (a derived one it gave is withdrawn, an undone expiry stands again)
        db.execute("update stages set gone_at = 'x' where bill_no = ? and stage = 'third-reading'", [MERGED])
        # secondary sources change their readings: events vanish, statuses move, sponsors change
        db.execute("delete from source_stages where rowid % 4 = 0")
        db.execute(
            "update source_bills set status_raw = '撤回', status_stage = 'withdrawn' where rowid % 3 = 0"
        )
        db.execute(
            "update source_bills set cosponsors = '[]', proposers = '[\"王育敏\"]' where rowid % 5 = 1"
        )

    def unlink(db: sqlite_utils.Database) -> None:
        db.execute("update sponsors set name = name_raw, legislator_id = null where rowid % 2 = 0")

    tables = assert_same(prepared(full_crawled_db, tmp_path, change, unlink), tmp_path, monkeypatch)
    assert any("evidence gone" in str(row) for row in tables["stages"])
    assert_same(prepared(full_crawled_db, tmp_path, change), tmp_path, monkeypatch, only={MERGED})


@pytest.mark.slow  # 130,000 bills written before it reads: seconds of its own
def test_scope_of_a_full_backfill(tmp_path: Path):
    """After a 150k-bill backfill every bill is touched: the scope is read without an IN list of
    every bill (twice over, that was past SQLite's 250,000-variable limit: 'too many SQL variables')."""
    db = open_db(tmp_path / "big.db")
    bills = [f"1{n:015d}" for n in range(130_000)]
    with db.conn:
        db.conn.executemany("insert into bills (bill_no) values (?)", [(b,) for b in bills])
        db["merged_reviews"].insert({"report_bill_no": "1050926070300100", "bill_no": bills[7]})
        db.conn.execute("insert into bills (bill_no) values ('1050926070300100')")
    reconciler = chunked.Reconciler(db, TODAY)
    assert reconciler.scope(set(bills)) == {*bills, "1050926070300100"}  # widened to the report
    assert reconciler.scope({bills[7]}) == {bills[7], "1050926070300100"}
    db.close()
