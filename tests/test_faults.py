"""Faults, injected into real parts: kill -9 mid-crawl, a full disk, a read-only database, 50
readers while a crawl writes, and a source that is slow, times out, resets connections or says 429.

Small corpora (a few hundred generated bills from billtracker/replay/scale.py, or the samples) so
the suite stays fast; the 150k runs are benchmarks in bench/.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import TODAY, run_crawl
from scrapy.utils.test import get_crawler

from billtracker.jobs.profiles import BULK
from billtracker.jobs.spider_process import replay_settings
from billtracker.paths import REPO_ROOT
from billtracker.replay import ReplayServer, load_replay
from billtracker.replay.scale import TERMS, ScaleCorpus
from billtracker.replay.server import RESET
from billtracker.serve.datasette import datasette_app
from pipelines.normalise.bill_record import normalise_bill
from pipelines.schema import open_db
from pipelines.store.pipeline import StorePipeline, StoreUnavailable
from scrapers.commands.crawl import FAILED_STAT
from scrapers.items import BillItem, Provenance

# Every test here injects a fault; those that also crawl in a subprocess are slow as well.
pytestmark = pytest.mark.faults

TODAY_DATE = date.fromisoformat(TODAY)
SCALE_QUERIES = [{"屆": term} for term, *_ in TERMS]
COUNTED = ["bills", "stages", "sponsors", "bill_laws", "related_bills", "laws"]


def scale_settings(base_url: str, batch: int = 20) -> dict[str, str]:
    return {
        **replay_settings(base_url),
        **BULK,
        "BILLTRACKER_TODAY": TODAY,
        "BILLTRACKER_BATCH_ITEMS": str(batch),
    }


def start_crawl(db: Path, settings: dict[str, str], queries: list[dict]) -> subprocess.Popen[str]:
    """`scrapy crawl tw_ly_bills` in the background, exactly as run_crawl runs it."""
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tw_ly_bills", "-s", f"BILLTRACKER_DB={db}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += ["-a", "queries=" + json.dumps(queries, ensure_ascii=False)]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    # stderr to a file, not a pipe: a crawl's log outgrows a pipe's buffer and would block.
    log = tempfile.TemporaryFile(mode="w+")
    return subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=log, text=True)


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}


def bill_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM bills").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def slow_scale_replay(samples_dir: Path) -> Iterator[ReplayServer]:
    """400 generated bills; each answer takes >= 5 ms, so a crawl lasts long enough to be killed."""
    with ReplayServer(samples_dir, scale=400, overlay=lambda _: time.sleep(0.005)) as server:
        yield server


@pytest.fixture(scope="module")
def reference_db(tmp_path_factory: pytest.TempPathFactory, slow_scale_replay: ReplayServer) -> Path:
    """The same corpus crawled once without faults: what every faulted run must end up with."""
    db = tmp_path_factory.mktemp("reference") / "reference.db"
    result = run_crawl(db, slow_scale_replay.base_url, queries=SCALE_QUERIES, extra_settings=BULK)
    assert result.returncode == 0, result.stderr[-3000:]
    assert counts(db)["bills"] == 400
    return db


def first_errors(stderr: str, lines: int = 40) -> str:
    """The first ERROR lines of a crawl's log and what follows each (a traceback), so a failure
    says what went wrong and not only how the run ended."""
    out = stderr.splitlines()
    starts = [i for i, line in enumerate(out) if "] ERROR:" in line][:3]
    return "\n".join("\n".join(out[i : i + lines]) for i in starts) + "\n...\n"


@pytest.mark.slow
def test_kill_9_mid_crawl_then_crawl_again(
    tmp_path: Path, slow_scale_replay: ReplayServer, reference_db: Path
):
    db = tmp_path / "killed.db"
    settings = scale_settings(slow_scale_replay.base_url)
    proc = start_crawl(db, settings, SCALE_QUERIES)
    deadline = time.monotonic() + 120
    while bill_count(db) < 60 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the crawl ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db) as conn:  # what survived the kill (WAL recovery on open)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept_bills = set(conn.execute("SELECT bill_no, record_sha256 FROM bills"))
        kept_stages = set(conn.execute("SELECT bill_no, seq, stage, status_raw FROM stages"))
    assert 60 <= len(kept_bills) < 400

    result = run_crawl(db, slow_scale_replay.base_url, queries=SCALE_QUERIES, extra_settings=settings)
    assert result.returncode == 0, first_errors(result.stderr) + result.stderr[-3000:]
    assert "'finish_reason': 'finished'" in result.stderr, result.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert kept_bills <= set(conn.execute("SELECT bill_no, record_sha256 FROM bills"))
        assert kept_stages <= set(conn.execute("SELECT bill_no, seq, stage, status_raw FROM stages"))
        # a problem seen twice is one row, counted (its identity: pipelines/problems.py problem_key;
        # one bill may have several, e.g. one doubtful-date per doubted date)
        problems = conn.execute("SELECT problem_key, count(*) FROM problems GROUP BY 1 HAVING count(*) > 1")
        assert problems.fetchall() == []
        assert conn.execute("SELECT count(*) FROM problems WHERE problem_key IS NULL").fetchone()[0] == 0
    assert counts(db) == counts(reference_db)  # nothing lost, nothing duplicated
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT status, error FROM scrape_runs ORDER BY id").fetchall()
    assert [status for status, _ in runs] == ["interrupted", "ok"]
    assert "ended without closing" in runs[0][1]


# --- an unwritable database: in-process StorePipeline on a real file ------------------------------


@pytest.fixture(scope="module")
def corpus(samples_dir: Path) -> ScaleCorpus:
    return ScaleCorpus(load_replay(samples_dir), 120)


def bill_items(corpus: ScaleCorpus, indices: range) -> list[BillItem]:
    items = []
    for i in indices:
        record = corpus.record(i)
        url = f"http://127.0.0.1/v2/bills/{record['議案編號']}"
        prov = Provenance(url, "2026-11-26T00:00:00Z", f"{i:064x}", "tw_ly_bills")
        items.append(BillItem(record["議案編號"], record, prov))
    return items


def assert_whole_bills(db_path: Path, items: list[BillItem]) -> int:
    """Every stored bill has every stage and sponsor its record gives: no partial bill."""
    by_no = {item.bill_no: item for item in items}
    db = open_db(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = [r["bill_no"] for r in db["bills"].rows]
    for bill_no in stored:
        norm = normalise_bill(by_no[bill_no], TODAY_DATE)
        assert db["stages"].count_where("bill_no = ?", [bill_no]) == len(norm.stages), bill_no
        assert db["sponsors"].count_where("bill_no = ?", [bill_no]) == len(norm.sponsors), bill_no
    db.close()
    return len(stored)


@pytest.mark.parametrize("batch", [1, 25])
def test_disk_full_is_a_clear_error_and_no_partial_bill(tmp_path: Path, corpus: ScaleCorpus, batch: int):
    db_path = tmp_path / "full.db"
    items = bill_items(corpus, range(120))
    store = StorePipeline(str(db_path), TODAY_DATE, batch_items=batch)
    store.open_spider()
    for item in items[:40]:
        store.process_item(item)
    store.commit()
    before = {r["bill_no"]: r["record_sha256"] for r in store.db["bills"].rows}
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 4}")  # the disk fills up a few pages later
    with pytest.raises(StoreUnavailable, match=r"cannot write .*full\.db: database or disk is full"):
        for item in items[40:]:
            store.process_item(item)
        store.commit()
    store.close_spider()
    assert store.failed is not None
    stored = assert_whole_bills(db_path, items)
    assert 40 <= stored < 120
    after = {r["bill_no"]: r["record_sha256"] for r in open_db(db_path)["bills"].rows}
    assert all(after[k] == v for k, v in before.items())  # nothing stored before is lost


def test_the_store_process_killed_mid_backfill_fails_the_crawl_and_leaves_whole_bills(
    tmp_path: Path, corpus: ScaleCorpus
):
    """BILLTRACKER_STORE_PROCESS (the bulk profile): the store runs in a child process. If that
    child dies, the crawl must not go on as if stored: the next hand-over names the death and the
    run is failed; what the child committed is whole bills only."""
    db_path = tmp_path / "child.db"
    items = bill_items(corpus, range(120))
    crawler = get_crawler(settings_dict={"BILLTRACKER_DB": str(db_path)})
    store = StorePipeline(str(db_path), TODAY_DATE, crawler, batch_items=20, store_process=True)
    store.open_spider()
    for item in items[:60]:
        store.process_item(item)
    store.on_idle()  # the first 60 committed
    assert store.writer is not None
    os.kill(store.writer.proc.pid, signal.SIGKILL)
    store.writer.proc.join(timeout=10)
    for item in items[60:]:
        store.process_item(item)
    store.on_idle()
    store.close_spider()
    assert store.failed is not None and "the store's process ended" in str(store.failed)
    assert "the store's process ended" in crawler.stats.get_value(FAILED_STAT)
    assert assert_whole_bills(db_path, items) == 60


def test_read_only_database_is_a_clear_error(tmp_path: Path, corpus: ScaleCorpus):
    db_path = tmp_path / "ro.db"
    items = bill_items(corpus, range(30))
    today = TODAY_DATE
    store = StorePipeline(str(db_path), today)
    store.open_spider()
    for item in items[:10]:
        store.process_item(item)
    store.close_spider()
    crawler = get_crawler(settings_dict={"BILLTRACKER_DB": str(db_path)})
    store = StorePipeline(str(db_path), today, crawler)
    store.open_spider()
    store.db.execute("PRAGMA query_only = ON")  # the file became read-only under us
    with pytest.raises(StoreUnavailable, match="readonly database"):
        store.process_item(items[10])
    store.close_spider()
    assert assert_whole_bills(db_path, items) == 10
    # the crawl is failed, so a bare `scrapy crawl` exits 1 too (scrapers/commands/crawl.py)
    assert "readonly database" in crawler.stats.get_value(FAILED_STAT)


# --- 50 readers while a crawl writes ----------------------------------------------------------------


@pytest.mark.slow
def test_50_concurrent_readers_while_a_crawl_writes(tmp_path: Path, slow_scale_replay: ReplayServer):
    db = tmp_path / "busy.db"
    open_db(db).close()  # Datasette opens an existing file
    proc = start_crawl(db, scale_settings(slow_scale_replay.base_url, batch=10), SCALE_QUERIES)
    corpus = slow_scale_replay.data.scale
    ds = datasette_app(db)
    paths = [
        "/busy/bills.json?_size=5&_shape=array",
        "/busy/law_bills.json?law=01010&_shape=array",
        "/busy/search.json?q=組織法&_shape=array",
        "/busy/stages.json?_size=5&stage=referred",
    ]
    paths += [
        f"/busy/bill_timeline.json?bill_no={corpus.bill_nos[i]}&_shape=array" for i in range(0, 400, 37)
    ]
    errors: list[str] = []
    done = [0]

    async def reader(n: int) -> None:
        rng = random.Random(n)
        while proc.poll() is None:
            path = rng.choice(paths)
            try:
                response = await ds.client.get(path)
                if response.status_code != 200:
                    errors.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")
            except Exception as exc:  # noqa: BLE001 - any failure of a reader is what we count
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
            done[0] += 1
            await asyncio.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(reader(n) for n in range(50)))

    asyncio.run(main())
    assert proc.wait() == 0, "the crawl under 50 readers failed"
    assert errors == []
    assert done[0] >= 100
    assert counts(db)["bills"] == 400


# --- a difficult source: slow, timing out, resetting, throttling ------------------------------------

SLOW = "1051006070201100"
TIMES_OUT = "1051006070201200"
RESETS = "1051006070201300"
THROTTLED = "1051027070200800"


class Difficult:
    """Overlay: per-bill misbehaviour for the first requests, then the real answer."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def __call__(self, path_qs: str):  # type: ignore[no-untyped-def]
        bill_no = path_qs.removeprefix("/v2/bills/")
        with self.lock:
            self.calls.setdefault(bill_no, []).append(time.monotonic())
            n = len(self.calls[bill_no])
        if bill_no == SLOW:
            time.sleep(0.8)  # slow but inside DOWNLOAD_TIMEOUT
        elif bill_no == TIMES_OUT and n == 1:
            time.sleep(4)  # longer than DOWNLOAD_TIMEOUT: the client gives up and retries
        elif bill_no == RESETS and n <= 2:
            return RESET, b"", {}
        elif bill_no == THROTTLED and n == 1:
            return 429, b'{"error": true, "message": "too many requests"}', {"Retry-After": "1"}
        return None


@pytest.mark.slow
def test_slow_timing_out_resetting_throttling_source(tmp_path: Path, samples_dir: Path, crawled_db: Path):
    overlay = Difficult()
    db = tmp_path / "difficult.db"
    with ReplayServer(samples_dir, overlay=overlay) as server:
        result = run_crawl(
            db,
            server.base_url,
            extra_settings={"DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": "3", "BACKOFF_BASE_SECONDS": "0.1"},
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert counts(db) == counts(crawled_db)  # every bill arrived in the end
    problems = "SELECT kind, substr(url, instr(url, '/v2/')) FROM problems ORDER BY 1, 2"
    with sqlite3.connect(db) as faulted, sqlite3.connect(crawled_db) as clean:
        # no network or 429 problem left: exactly the problems of a clean crawl (its 404s)
        assert faulted.execute(problems).fetchall() == clean.execute(problems).fetchall()
    calls = overlay.calls
    assert len(calls[TIMES_OUT]) >= 2
    assert len(calls[RESETS]) == 3
    assert len(calls[THROTTLED]) == 2
    assert calls[THROTTLED][1] - calls[THROTTLED][0] >= 1.0  # Retry-After honoured
    assert "backing off" in result.stderr
