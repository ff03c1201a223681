"""The wheel is the product: built from a clean copy of this checkout (the files git knows, as they
are now), installed with its dependencies in a fresh virtualenv, it runs `billtracker demo` from
a directory that has nothing to do with the repository and serves what it crawled.

A wheel has no tests/ and no datasette_metadata.json beside it: whatever the demo reads at run
time must be package data (pyproject.toml, setup.py), and the samples are named by
BILLTRACKER_SAMPLES (docs/development.md#the-wheel). Needs PyPI, like any `pip install`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from billtracker.paths import REPO_ROOT
from tests.conftest import CIO_BILL

pytestmark = pytest.mark.slow  # a virtualenv, a build, an install from PyPI, a crawl: minutes
ENV_SAMPLES = "BILLTRACKER_SAMPLES"


def run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def clean_copy(dest: Path) -> Path:
    """What a clean clone holds: the files git tracks or would add, never .venv, build/ or a db."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = REPO_ROOT / rel
        if src.is_file():  # a tracked file deleted in the working tree is not copied
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A fresh virtualenv holding the wheel and its dependencies; removed afterwards (~200 MB)."""
    root = tmp_path_factory.mktemp("wheel")
    # Nothing of this checkout or the test's virtualenv may leak into the installed one.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.pop(ENV_SAMPLES, None)
    src = clean_copy(root / "src")
    venv = root / "venv"
    try:
        made = run([sys.executable, "-m", "venv", str(venv)], root, env)
        assert made.returncode == 0, made.stderr
        pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
        built = run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(src)], root, env)
        assert built.returncode == 0, built.stderr[-3000:]
        wheel = next((root / "dist").glob("billtracker-*.whl"))
        done = run([*pip, "install", str(wheel)], root, env)
        assert done.returncode == 0, done.stderr[-3000:]
        elsewhere = root / "elsewhere"  # nowhere near the repository, no ../shared beside it
        elsewhere.mkdir()
        yield {"venv": venv, "wheel": wheel, "env": env, "cwd": elsewhere}
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def test_the_wheel_holds_what_the_demo_reads(installed: dict) -> None:
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    packaged = zipfile.ZipFile(installed["wheel"]).read("billtracker/datasette_metadata.json")
    assert packaged == (REPO_ROOT / "datasette_metadata.json").read_bytes()  # the top-level file
    for rel in [
        "billtracker/templates/bill.html",
        "billtracker/static/pages.css",
        "billtracker/schedule.toml",
        "billtracker/corrections.toml",
        "billtracker/watches.toml",
        "billtracker/openapi.yaml",
        "billtracker/replay/fixtures/ppg/1051006070201100_details.html",
        "billtracker/replay/fixtures/ppg/all-bills_term09_page1.json",
        "billtracker/replay/fixtures/ppg/placeholder.html",
        "scrapers/settings.py",
        "pipelines/__init__.py",
    ]:
        assert rel in names, rel
    assert not any(n.startswith("tests/") for n in names)


def test_the_installed_package_is_the_one_imported(installed: dict) -> None:
    python = str(installed["venv"] / "bin" / "python")
    code = "import billtracker.paths as p; print(p.__file__); print(p.METADATA)"
    result = run([python, "-c", code], installed["cwd"], installed["env"])
    module, metadata = result.stdout.split()
    site = installed["venv"].resolve()
    assert Path(module).is_relative_to(site) and Path(metadata).is_relative_to(site), result.stdout
    assert Path(metadata) == Path(module).parent / "datasette_metadata.json"


def test_demo_without_samples_names_what_is_missing(installed: dict) -> None:
    billtracker = str(installed["venv"] / "bin" / "billtracker")
    result = run([billtracker, "demo", "--no-serve", "--db", "none.db"], installed["cwd"], installed["env"])
    assert result.returncode != 0
    assert "samples directory not found" in result.stderr and ENV_SAMPLES in result.stderr, result.stderr
    assert "--samples" in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_demo_from_anywhere_crawls_and_serves(installed: dict, samples_dir: Path) -> None:
    billtracker = str(installed["venv"] / "bin" / "billtracker")
    env = {**installed["env"], ENV_SAMPLES: str(samples_dir)}
    cwd = installed["cwd"]
    crawled = run([billtracker, "demo", "--no-serve", "--db", "demo.db"], cwd, env)
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    with sqlite3.connect(cwd / "demo.db") as conn:
        assert conn.execute("SELECT count(*) FROM bills").fetchone()[0] > 20
        assert conn.execute("SELECT count(*) FROM bills WHERE bill_no = ?", (CIO_BILL,)).fetchone()[0] == 1
        # the ppg page came from the wheel's own fixtures (they were in tests/files/ once)
        ppg = "SELECT count(*) FROM source_bills WHERE source = 'ppg' AND bill_no = ?"
        assert conn.execute(ppg, (CIO_BILL,)).fetchone()[0] == 1

    port = free_port()
    server = subprocess.Popen(
        [billtracker, "serve", "--db", "demo.db", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/-/versions.json")
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else "serve exited"
                assert time.monotonic() < deadline, "billtracker serve did not answer in 60 s"
                time.sleep(0.2)
        status, page = get(f"{base}/-/bill/{CIO_BILL}")  # the package's templates
        assert status == 200 and "行政院組織法" in page.decode()
        assert get(f"{base}/-/billtracker/pages.css")[0] == 200  # its static files
        # a canned query of the packaged datasette_metadata.json, under the served file's name
        status, body = get(f"{base}/demo/bill_timeline.json?bill_no={CIO_BILL}&_shape=array")
        assert status == 200 and json.loads(body), body[:500]
    finally:
        server.terminate()
        server.wait(timeout=10)
