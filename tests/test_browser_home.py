"""Real headless Chromium over the issue-13 pages: the home at desktop and 390 px width (DOM
rendered by Chromium, no console messages, screenshots in screenshots/ for people to look at).
The server's clock is frozen at the crawl's own day, so "today" has changes to show."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_browser_pages import dump, free_port, screenshot
from tests.test_home import data_day

pytestmark = pytest.mark.browser


def serve(db_path: Path, today: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "BILLTRACKER_TODAY": today}
    proc = subprocess.Popen(
        [sys.executable, "-m", "billtracker.cli", "serve", "--db", str(db_path), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=2).read()
            return proc, base
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
            assert time.monotonic() < deadline, "server did not start in 30 s"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def site(full_crawled_db: Path) -> Iterator[str]:
    proc, base = serve(full_crawled_db, data_day(full_crawled_db))
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("width", [1280, 390])
def test_home_in_chromium(site: str, tmp_path: Path, width: int) -> None:
    soup, problems = dump(tmp_path, f"{site}/", width)
    assert problems == []
    assert soup.select_one("h1").get_text().startswith("立法院議案追蹤")
    assert soup.select("#bt-today-changes section.bt-group")
    assert soup.select_one(".bt-home-agenda .bt-data-note")
    assert soup.select(".bt-stuck-list li") and soup.select(".bt-watches > li")
    assert soup.select_one("a[href='/-/index']")
    name = "home-desktop.png" if width > 400 else "home-phone-390.png"
    screenshot(tmp_path, f"{site}/", name, width, 2600 if width > 400 else 4200)


def test_datasette_index_in_chromium(site: str, tmp_path: Path) -> None:
    soup, problems = dump(tmp_path, f"{site}/-/index")
    assert problems == []
    assert soup.select_one("a[href='/billtracker']")
