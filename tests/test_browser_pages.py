"""Real browser: `billtracker serve` as a subprocess on a free 127.0.0.1 port, Debian's headless
Chromium opening the CIO bill's page and the 行政院組織法 law page. Assertions run on the DOM
Chromium rendered (--dump-dom); console messages are read from Chromium's own log; screenshots
(desktop and 390 px phone width) go to screenshots/ for people to look at."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from billtracker.paths import REPO_ROOT
from tests.conftest import CIO_BILL, TODAY

SHOTS = REPO_ROOT / "screenshots"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, (
        "Chromium is missing: `./dev test` installs it (apt-get install chromium fonts-noto-cjk) as root"
    )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(full_crawled_db: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "BILLTRACKER_TODAY": TODAY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "billtracker.cli", "serve", "--db", str(full_crawled_db), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
                assert time.monotonic() < deadline, "server did not start in 30 s"
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_chromium(tmp_path: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{time.monotonic_ns()}"
    cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def console_problems(log: str) -> list[str]:
    """Every page console message or uncaught exception Chromium logged (our pages log none)."""
    return [line for line in log.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def dump(tmp_path: Path, url: str, width: int = 1280) -> tuple[BeautifulSoup, list[str]]:
    result = run_chromium(tmp_path, [f"--window-size={width},2000", "--dump-dom", url])
    assert result.returncode == 0, result.stderr[-2000:]
    return BeautifulSoup(result.stdout, "html.parser"), console_problems(result.stderr)


def screenshot(tmp_path: Path, url: str, name: str, width: int, height: int) -> Path:
    SHOTS.mkdir(exist_ok=True)
    out = SHOTS / name
    out.unlink(missing_ok=True)
    result = run_chromium(tmp_path, [f"--window-size={width},{height}", f"--screenshot={out}", url])
    assert result.returncode == 0, result.stderr[-2000:]
    assert out.stat().st_size > 10_000, f"{out} looks empty"
    return out


@pytest.mark.browser
def test_console_check_catches_errors(tmp_path: Path) -> None:
    """The console check itself: a page that logs an error and throws is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<p>x</p><script>console.error("boom"); missing_function();</script>', encoding="utf-8")
    _, problems = dump(tmp_path, bad.as_uri())
    assert any("boom" in p for p in problems) and any("Uncaught" in p for p in problems)


@pytest.mark.browser
@pytest.mark.slow
def test_bill_page_in_chromium(server: str, tmp_path: Path) -> None:
    url = f"{server}/billtracker/bills/{CIO_BILL}"  # the bills row page itself
    soup, problems = dump(tmp_path, url)
    assert problems == []
    stages = {li["data-stage"]: li for li in soup.select(".bt-timeline li.stage")}
    first = stages["first-reading"]
    assert first["data-on"] == "2016-10-14" and "一讀" in first.get_text()
    assert "司法及法制委員會" in stages["referred"].get_text()
    assert stages["committee-listed"]["data-on"] == "2017-03-22"
    assert list(stages) == ["filed", "first-reading", "referred", "committee-listed"]
    caveat = soup.select_one(".bt-caveat")  # the 2018 records cannot say it expired: the page says so
    assert caveat is not None and "as of 2018-11-01" in caveat.get_text()
    screenshot(tmp_path, url, "bill-desktop.png", 1280, 2600)
    screenshot(tmp_path, f"{server}/-/bill/{CIO_BILL}", "bill-phone-390.png", 390, 3000)


@pytest.mark.browser
@pytest.mark.slow
def test_law_page_in_chromium(server: str, tmp_path: Path) -> None:
    url = f"{server}/-/law/01010"
    soup, problems = dump(tmp_path, url)
    assert problems == []
    article = soup.select_one("section.bt-article[data-article='0006-00']")
    assert "第六條" in article.select_one("h2").get_text()
    assert article.select_one(f"li.proposal[data-bill='{CIO_BILL}']")
    assert (
        article.select_one("figure.in-force blockquote").get_text()
        == "行政院設行政院主計總處及行政院人事行政總處。"
    )
    screenshot(tmp_path, url, "law-desktop.png", 1280, 2600)
    screenshot(tmp_path, url, "law-phone-390.png", 390, 3000)


@pytest.mark.browser
@pytest.mark.slow
def test_search_in_chromium(server: str, tmp_path: Path) -> None:
    url = f"{server}/-/search?q=%E8%B5%84%E8%AE%AF%E6%80%BB%E5%A4%84"  # 资讯总处, Simplified
    soup, problems = dump(tmp_path, url)
    assert problems == []
    assert CIO_BILL in [li["data-bill"] for li in soup.select(".bt-results > li")]
    screenshot(tmp_path, f"{server}/-/time-in-stage?days=1000", "time-in-stage-desktop.png", 1280, 2600)
