"""Real headless Chromium over the issue-13 pages: the home and a legislator's page at desktop
and 390 px width (DOM rendered by Chromium, no console messages, screenshots in screenshots/ for
people to look at).
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
from datasette.utils import tilde_encode

from tests.conftest import CIO_BILL
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


@pytest.mark.parametrize("width", [1280, 390])
def test_legislator_page_in_chromium(site: str, tmp_path: Path, width: int) -> None:
    url = f"{site}/-/legislator/{tilde_encode('許毓仁')}"
    soup, problems = dump(tmp_path, url, width)
    assert problems == []
    cio = soup.select_one(f".bt-role-proposer li[data-bill='{CIO_BILL}']")
    assert cio is not None and cio.select_one(".bt-caveat-inline") and cio.select_one(".evidence")
    name = "legislator-desktop.png" if width > 400 else "legislator-phone-390.png"
    screenshot(tmp_path, url, name, width, 2000 if width > 400 else 3600)


def test_sponsor_link_reaches_the_legislator_in_chromium(site: str, tmp_path: Path) -> None:
    soup, _ = dump(tmp_path, f"{site}/-/bill/{CIO_BILL}")
    href = soup.select_one(".bt-sponsors li.proposer a")["href"]
    page, problems = dump(tmp_path, f"{site}{href}")
    assert problems == [] and "許毓仁" in page.select_one("h1").get_text()
