"""The marker guard (tests/markers.py): what it takes for a browser, a cluster, a kill -9 and a
crawl, and that a real pytest run fails a test that does one of them unmarked, itself or through
a fixture another test set up first, while `--fast` leaves the marked ones out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from billtracker.paths import REPO_ROOT
from tests.markers import kinds_of_command, kinds_of_signal

PY = sys.executable


@pytest.mark.parametrize(
    ("argv", "kinds"),
    [
        (["/usr/bin/chromium", "--headless", "--dump-dom", "http://127.0.0.1:1/"], {"browser"}),
        (["/usr/sbin/nginx", "-p", "/tmp/x", "-g", "daemon off;"], {"cluster"}),
        (["/venv/bin/scrapyd"], {"cluster"}),
        ([PY, "-m", "scrapy", "crawl", "tw_ly_bills", "-s", "BILLTRACKER_DB=x.db"], {"slow"}),
        ([PY, "-m", "billtracker.cli", "crawl", "--replay", "samples", "--db", "x.db"], {"slow"}),
        (["/venv/bin/billtracker", "demo", "--no-serve"], {"slow"}),
        ([PY, "-m", "billtracker.cli", "backfill", "--replay", "--db", "x.db"], {"slow"}),
        ([PY, "-c", "from billtracker.cli import cli; cli()", "up", "--db", "x.db"], {"slow"}),
        ([PY, "-m", "billtracker.cli", "schedule", "--once", "incremental"], {"slow"}),
        ([PY, "-m", "billtracker.cli", "crawl", "--help"], set()),
        ([PY, "-c", "from billtracker.cli import cli; cli()", "crawl", "--help"], set()),
        ([PY, "-m", "billtracker.cli", "serve", "--db", "x.db"], set()),
        ([PY, "-m", "billtracker.cli", "audit", "--db", "crawl.db"], set()),
        ([PY, "-m", "datasette", "serve", "crawl.db"], set()),
        ("git ls-files", set()),
        ([], set()),
    ],
)
def test_what_a_command_needs(argv: list[str] | str, kinds: set[str]) -> None:
    assert kinds_of_command(argv) == kinds


def test_only_sigkill_is_a_fault() -> None:
    assert kinds_of_signal(signal.SIGKILL) == {"faults"}
    assert kinds_of_signal(signal.SIGTERM) == set()


INNER_TESTS = """
import os, signal, subprocess, sys
import pytest

CHROMIUM = os.path.join(os.path.dirname(__file__), "bin", "chromium")


@pytest.fixture(scope="session")
def page():
    subprocess.run([CHROMIUM, "--dump-dom", "about:blank"], check=True)
    return "<html></html>"


def test_1_sets_up_the_browser_fixture_unmarked(page):
    assert page


@pytest.mark.browser
def test_2_marked(page):
    assert page


def test_3_uses_the_fixture_set_up_before(page):
    assert page


def test_4_asks_for_it_by_name(request):
    assert request.getfixturevalue("page")


def test_5_kills_9():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_6_terminates():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    proc.terminate()
    proc.wait()


def test_7_crawls():
    subprocess.run([sys.executable, "-c", "pass", "-m", "scrapy", "crawl", "x"])


@pytest.mark.faults
@pytest.mark.slow
def test_8_both_marked():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    os.killpg  # noqa: B018
    proc.kill()
    proc.wait()
    subprocess.run([sys.executable, "-c", "pass", "scrapy", "crawl"])
"""


def run_inner(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real pytest run of INNER_TESTS with the guard and this project's registered markers."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "chromium"  # a browser that renders nothing, instantly
    fake.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    fake.chmod(0o755)
    (tmp_path / "test_inner.py").write_text(INNER_TESTS, encoding="utf-8")
    markers = "\n".join(f"    {line}" for line in pytest_markers())
    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\naddopts = -p tests.markers --strict-markers\nmarkers =\n{markers}\n", encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [PY, "-m", "pytest", "-v", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def pytest_markers() -> list[str]:
    import tomllib

    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["pytest"]["ini_options"]["markers"]


def outcomes(output: str) -> dict[str, str]:
    found = {}
    for line in output.splitlines():
        if line.startswith("test_inner.py::") and " " in line:
            name, outcome = line.split()[:2]
            found[name.split("::")[1]] = outcome
    return found


def test_unmarked_launches_fail_marked_ones_pass(tmp_path: Path) -> None:
    result = run_inner(tmp_path)
    assert outcomes(result.stdout) == {
        "test_1_sets_up_the_browser_fixture_unmarked": "FAILED",
        "test_2_marked": "PASSED",
        "test_3_uses_the_fixture_set_up_before": "FAILED",
        "test_4_asks_for_it_by_name": "FAILED",
        "test_5_kills_9": "FAILED",
        "test_6_terminates": "PASSED",
        "test_7_crawls": "FAILED",
        "test_8_both_marked": "PASSED",
    }, result.stdout[-3000:]
    assert "unmarked: @pytest.mark.browser: it launches Chromium" in result.stdout
    assert "unmarked: @pytest.mark.faults: it sends SIGKILL (kill -9)" in result.stdout
    assert "unmarked: @pytest.mark.slow: it starts a crawl subprocess" in result.stdout


def test_fast_leaves_out_every_marked_test(tmp_path: Path) -> None:
    result = run_inner(tmp_path, "--fast", "-k", "not test_1 and not test_3 and not test_4")
    assert set(outcomes(result.stdout)) == {"test_5_kills_9", "test_6_terminates", "test_7_crawls"}
    assert "fast subset: " in result.stdout and "(budget 60 s)" in result.stdout


def test_the_project_registers_exactly_the_guarded_markers() -> None:
    from tests.markers import WHY

    assert [line.split(":")[0] for line in pytest_markers()] == list(WHY)
