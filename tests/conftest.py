"""Shared fixtures: the real samples, the real replay server, real crawls into real SQLite files.

Time is frozen at TODAY so that derived expiry is reproducible (city-scrapers' frozen clock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from billtracker.jobs.spider_process import replay_settings
from billtracker.jobs.spiders import replay_queries
from billtracker.paths import REPO_ROOT
from billtracker.replay import ReplayServer, default_samples_dir
from tests.alerts_helpers import Inbox, free_port

# browser / cluster / faults / slow: a test that launches one of those unmarked fails (tests/markers.py)
pytest_plugins = ["tests.markers"]

TODAY = "2026-11-26"
CIO_BILL = "1051006070201100"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    path = default_samples_dir()
    assert path.is_dir(), f"samples not found at {path}: set BILLTRACKER_SAMPLES"
    return path


def run_crawl(
    db_path: Path,
    base_url: str,
    spider: str = "tw_ly_bills",
    queries: list[dict] | None = None,
    extra_settings: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real Scrapy engine in a subprocess, exactly as `billtracker crawl` does.
    `queries`: None = the replay's two terms, [] = no queries (the scope)."""
    settings = {**replay_settings(base_url), "BILLTRACKER_TODAY": TODAY, **(extra_settings or {})}
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"BILLTRACKER_DB={db_path}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    if queries != []:  # [] = none given: the spider follows TW_LY_SCOPE
        cmd += ["-a", "queries=" + json.dumps(queries or replay_queries(), ensure_ascii=False)]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    return subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def replay(samples_dir: Path) -> Iterator[ReplayServer]:
    with ReplayServer(samples_dir=samples_dir) as server:
        yield server


@pytest.fixture(scope="session")
def crawled_db(tmp_path_factory: pytest.TempPathFactory, replay: ReplayServer) -> Path:
    """One real replay crawl shared by the read-only tests."""
    db_path = tmp_path_factory.mktemp("crawl") / "billtracker.db"
    result = run_crawl(db_path, replay.base_url)
    assert result.returncode == 0, result.stderr[-3000:]
    return db_path


@pytest.fixture
def db(crawled_db: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(crawled_db)


def run_cli_crawl(
    db_path: Path, samples_dir: Path, corpus: Path | None = None, today: str = TODAY
) -> subprocess.CompletedProcess[str]:
    """`billtracker crawl --replay [--corpus]` of every spider, the real CLI in a subprocess."""
    cmd = [sys.executable, "-m", "billtracker.cli", "crawl", "--replay", str(samples_dir)]
    if corpus is not None:
        cmd += ["--corpus", str(corpus)]
    cmd += ["--db", str(db_path), "--today", today]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    from billtracker.replay.corpus import default_corpus_dir

    path = default_corpus_dir()
    assert path.is_dir(), f"corpus not found at {path}: set BILLTRACKER_CORPUS"
    return path


@pytest.fixture(scope="session")
def corpus_crawl(
    tmp_path_factory: pytest.TempPathFactory, samples_dir: Path, corpus_dir: Path
) -> tuple[Path, str]:
    """The whole shared corpus (3,597 real 9th-term bills) crawled by `billtracker crawl --replay
    --corpus`, every spider, once per test session: (database, the CLI's stderr). Read only."""
    db_path = tmp_path_factory.mktemp("corpus") / "term9.db"
    result = run_cli_crawl(db_path, samples_dir, corpus_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return db_path, result.stderr


@pytest.fixture(scope="session")
def cli_crawl(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> tuple[Path, str]:
    """`billtracker crawl --replay` of every spider (real CLI), shared read-only by the end-to-end
    tests: (database, the CLI's stderr)."""
    db_path = tmp_path_factory.mktemp("e2e") / "billtracker.db"
    result = run_cli_crawl(db_path, samples_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return db_path, result.stderr


@pytest.fixture(scope="session")
def full_crawled_db(cli_crawl: tuple[Path, str]) -> Path:
    """Every spider in crawl order, as `billtracker crawl` runs them; shared by the page tests
    (issue 5), which read it only. The same crawl as the end-to-end tests' (one run, not two)."""
    return cli_crawl[0]


# --- issue 4: two snapshots of the replay, crawled one after the other ---------------------------

# Bills whose last 議案流程 entry snapshot A lacks: in B each gained exactly that stage.
REWOUND = ["1051006070201100", "1051027070200800", "1050219070203400", "1060418070200100"]


@pytest.fixture(scope="session")
def history_crawl(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Iterator[dict]:
    """Snapshot A crawled in full (its stderr kept), then B by an incremental job: the real
    scheduler job function, crawl subprocesses and replay. Its own replay: it swaps the data."""
    from billtracker.jobs.run import Job, RetryPolicy, run_job
    from billtracker.replay.snapshots import rewind
    from scrapers.clock import utc_now

    db_path = tmp_path_factory.mktemp("history") / "billtracker.db"
    with ReplayServer(samples_dir=samples_dir) as server:
        snapshot_b = server.data
        server.data, removed = rewind(snapshot_b, REWOUND)
        started_a = utc_now()
        first = run_crawl(db_path, server.base_url, extra_settings={"BILLTRACKER_PROGRESS_SECONDS": "0.2"})
        assert first.returncode == 0, first.stderr[-3000:]
        server.data = snapshot_b
        seen = len(server.requests)
        import time

        time.sleep(1.1)  # detected_at has second resolution: B's changes start strictly later
        started_b = utc_now()
        settings = {**replay_settings(server.base_url), "BILLTRACKER_TODAY": TODAY}
        job = Job("incremental", mode="incremental", queries=replay_queries())
        run = run_job(job, db_path, settings, RetryPolicy(attempts=1))
        yield {
            "db": db_path,
            "removed": removed,
            "started_a": started_a,
            "started_b": started_b,
            "stderr_a": first.stderr,
            "run_b": run,
            "requests_b": server.requests[seen:],
            "server": server,
            "snapshot_b": snapshot_b,
        }


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and what it received: digests' tests."""
    from aiosmtpd.controller import Controller

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
