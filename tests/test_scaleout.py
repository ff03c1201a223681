"""Beyond one machine, on 127.0.0.1 with the real engines: `billtracker publish` makes a VACUUM
INTO snapshot; two immutable Datasette replicas serve it behind Debian's nginx (deploy/nginx.conf);
one replica is killed mid-load and no request fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CIO_BILL

from billtracker.cli import cli
from billtracker.cli.publish import replica_args
from billtracker.paths import REPO_ROOT
from billtracker.serve.datasette import write_metadata_for

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TABLES = ["bills", "stages", "sponsors", "laws", "problems"]


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory, crawled_db: Path) -> Path:
    out = tmp_path_factory.mktemp("published") / "billtracker.db"
    result = CliRunner().invoke(cli, ["publish", "--db", str(crawled_db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.slow
def test_publish_writes_a_whole_single_file_snapshot(snapshot: Path, crawled_db: Path):
    assert table_counts(snapshot) == table_counts(crawled_db)
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # nothing left in a WAL
    assert not Path(str(snapshot) + ".publishing").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_replica(snapshot: Path, tmp: Path) -> tuple[subprocess.Popen[str], int]:
    metadata = write_metadata_for(snapshot, tmp)
    proc = subprocess.Popen(
        replica_args(str(snapshot), 0, "127.0.0.1", metadata),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline() if proc.stderr else ""
        if match := re.search(r"running on http://127\.0\.0\.1:(\d+)", line):
            return proc, int(match.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("replica did not start")


@pytest.fixture
def cluster(snapshot: Path, tmp_path: Path) -> Iterator[dict]:
    assert NGINX, "nginx not installed: ./dev test installs Debian's nginx as root"
    replicas: list[tuple[subprocess.Popen[str], int]] = []
    nginx: subprocess.Popen[str] | None = None
    try:
        replicas = [start_replica(snapshot, tmp_path) for _ in range(2)]
        port = free_port()
        servers = "\n".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for _, p in replicas
        )
        conf = (REPO_ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
        conf = conf.replace("@LISTEN@", f"127.0.0.1:{port}").replace("@REPLICAS@", servers)
        conf = conf.replace("@PREFIX@", str(tmp_path))
        (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.PIPE,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=2)
                break
            except OSError:
                assert nginx.poll() is None, nginx.stderr.read() if nginx.stderr else ""
                time.sleep(0.1)
        yield {"base": base, "replicas": replicas, "snapshot": snapshot}
    finally:
        # SIGTERM: nginx's master stops its workers, then itself. A SIGKILL to the master would
        # orphan the workers (and their listening socket).
        if nginx is not None:
            nginx.terminate()
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait()
        for proc, _ in replicas:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.mark.cluster
@pytest.mark.faults
@pytest.mark.slow
def test_one_replica_down_no_request_fails(cluster: dict):
    name = cluster["snapshot"].stem
    url = f"{cluster['base']}/{name}/bill_timeline.json?bill_no={CIO_BILL}&_shape=array"
    (a, port_a), (b, port_b) = cluster["replicas"]
    failures: list[str] = []
    upstreams_before: set[str] = set()
    upstreams_after: set[str] = set()
    for n in range(120):
        if n == 40:
            os.kill(a.pid, signal.SIGKILL)  # replica A dies without a goodbye
            a.wait()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                (upstreams_before if n < 40 else upstreams_after).add(response.headers["X-Upstream"])
                if response.status != 200 or CIO_BILL.encode() not in body and b"seq" not in body:
                    failures.append(f"{n}: {response.status}")
        except OSError as exc:
            failures.append(f"{n}: {exc}")
    assert failures == []
    assert {f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"} <= upstreams_before  # both served
    assert all(u.endswith(f":{port_b}") for u in upstreams_after if "," not in u)
    assert b.poll() is None


@pytest.mark.cluster
@pytest.mark.slow
def test_replicas_refuse_writes_and_carry_security_headers(cluster: dict):
    request = urllib.request.Request(f"{cluster['base']}/", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 405
    with urllib.request.urlopen(f"{cluster['base']}/-/versions.json", timeout=5) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
