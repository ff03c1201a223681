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

from billtracker.cli import replay_settings
from billtracker.paths import REPO_ROOT
from billtracker.replay import ReplayServer, default_samples_dir
from billtracker.spiders import replay_queries

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
    """Run the real Scrapy engine in a subprocess, exactly as `billtracker crawl` does."""
    settings = {**replay_settings(base_url), "BILLTRACKER_TODAY": TODAY, **(extra_settings or {})}
    cmd = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"BILLTRACKER_DB={db_path}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
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


@pytest.fixture(scope="session")
def cli_crawl(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> tuple[Path, str]:
    """`billtracker crawl --replay` of every spider (real CLI), shared read-only by the end-to-end
    tests: (database, the CLI's stderr)."""
    db_path = tmp_path_factory.mktemp("e2e") / "billtracker.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "billtracker.cli",
            "crawl",
            "--replay",
            str(samples_dir),
            "--db",
            str(db_path),
            "--today",
            TODAY,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return db_path, result.stderr


@pytest.fixture(scope="session")
def full_crawled_db(cli_crawl: tuple[Path, str]) -> Path:
    """Every spider in crawl order, as `billtracker crawl` runs them; shared by the page tests
    (issue 5), which read it only. The same crawl as the end-to-end tests' (one run, not two)."""
    return cli_crawl[0]
