"""Crawls dispatched to two real Scrapyd nodes on loopback ports: the spiders deployed as an egg,
one job per term scheduled through Scrapyd's HTTP API, the jobs' databases merged into one that
equals a single crawl of the same corpus."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TODAY, run_crawl

from billtracker.cli import cli
from billtracker.jobs.dispatch import merge_databases
from billtracker.replay import ReplayServer
from billtracker.replay.scale import TERMS

TABLES = ["bills", "stages", "sponsors", "bill_laws", "related_bills", "laws"]
N = 300


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two Scrapyd instances (PyPI `scrapyd`), each with its own directory and loopback port."""
    scrapyd = shutil.which("scrapyd", path=str(Path(sys.executable).parent))
    assert scrapyd, "scrapyd not installed (it is in the test extra)"
    procs, urls = [], []
    for n in range(2):
        home = tmp_path_factory.mktemp(f"scrapyd{n}")
        port = free_port()
        (home / "scrapyd.conf").write_text(
            f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.2\nmax_proc = 2\n"
            f"eggs_dir = {home}/eggs\nlogs_dir = {home}/logs\ndbs_dir = {home}/dbs\nitems_dir =\n",
            encoding="utf-8",
        )
        procs.append(
            subprocess.Popen([scrapyd], cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/daemonstatus.json", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, f"scrapyd at {url} did not start"
                time.sleep(0.2)
    yield urls
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.cluster
@pytest.mark.slow
def test_dispatch_to_two_scrapyd_nodes_and_merge(nodes: list[str], tmp_path: Path, samples_dir: Path):
    db = tmp_path / "merged.db"
    queries = [f"屆={term}" for term, *_ in TERMS]
    args = ["dispatch", "--db", str(db), "--workdir", str(tmp_path / "jobs"), "--replay", str(samples_dir)]
    args += ["--scale", str(N)]
    for node in nodes:
        args += ["--node", node]
    for query in queries:
        args += ["--query", query]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "jobs").glob("job-*.db"))) == len(TERMS)
    with ReplayServer(samples_dir, scale=N) as server:
        single = tmp_path / "single.db"
        reference = run_crawl(single, server.base_url, queries=[{"屆": t} for t, *_ in TERMS])
        assert reference.returncode == 0, reference.stderr[-2000:]
    assert counts(db)["bills"] == N
    assert counts(db) == counts(single)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        found = conn.execute("SELECT count(*) FROM bills_fts WHERE bills_fts MATCH '組織法'").fetchone()[0]
        assert found > 0  # the full-text index followed the merge
    assert TODAY


@pytest.mark.slow
def test_merge_is_idempotent_upserts(tmp_path: Path, crawled_db: Path):
    target = tmp_path / "target.db"
    merge_databases(target, [crawled_db])
    merge_databases(target, [crawled_db])
    assert counts(target) == counts(crawled_db)
    with sqlite3.connect(target) as merged, sqlite3.connect(crawled_db) as crawled:
        query = "SELECT count(*), sum(times) FROM problems"
        (rows, times), (their_rows, their_times) = (
            merged.execute(query).fetchone(),
            crawled.execute(query).fetchone(),
        )
    assert their_rows > 0 and (rows, times) == (their_rows, 2 * their_times)  # one row each, seen twice
