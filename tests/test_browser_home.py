"""Real headless Chromium over the issue-13 pages: the home and a legislator's page at desktop
and 390 px width (DOM rendered by Chromium, no console messages, screenshots in screenshots/ for
people to look at); the embed card framed by a page of another origin, without JavaScript, light
and dark.
The server's clock is frozen at the crawl's own day, so "today" has changes to show."""

from __future__ import annotations

import functools
import http.server
import os
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasette.utils import tilde_encode

from tests.conftest import CIO_BILL
from tests.test_browser_pages import SHOTS, dump, free_port, run_chromium, screenshot
from tests.test_home import data_day

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium over a crawled database


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


# --- the embed card, framed by a page of another origin --------------------------------------------


@pytest.fixture(scope="module")
def news_site(tmp_path_factory: pytest.TempPathFactory, site: str) -> Iterator[str]:
    """A news site: another origin (its own port) serving pages that frame billtracker."""
    root = tmp_path_factory.mktemp("news")
    frame = '<iframe src="{src}" width="420" height="380" style="border:0" title="billtracker"></iframe>'
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><p>新聞 news</p>{frame}</body></html>'
    )
    for name, src in (("card.html", f"/-/embed/bill/{CIO_BILL}"), ("page.html", f"/-/bill/{CIO_BILL}")):
        (root / name).write_text(page.format(frame=frame.format(src=site + src)), encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_embed_framed_from_another_origin(news_site: str, tmp_path: Path) -> None:
    """The card loads in a news site's iframe without a refusal; the bill page (the control)
    is refused, which proves the check sees refusals."""
    _, problems = dump(tmp_path, f"{news_site}/card.html", 900)
    assert problems == []
    _, refused = dump(tmp_path, f"{news_site}/page.html", 900)
    assert any("frame-ancestors 'none'" in line for line in refused), refused
    screenshot(tmp_path, f"{news_site}/card.html", "embed-in-news-site.png", 900, 500)


def test_embed_renders_without_javascript(site: str, tmp_path: Path) -> None:
    """The card's own policy (`default-src 'none'`, no script-src) lets no script run in it, so
    what Chromium renders there is rendered without JavaScript: the whole card, no refusal logged
    (the card has no script to refuse). Chromium's --screenshot and --dump-dom need script
    themselves, so scripts cannot simply be switched off for the check."""
    url = f"{site}/-/embed/bill/{CIO_BILL}"
    policy = urllib.request.urlopen(url, timeout=10).headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    soup, problems = dump(tmp_path, url, 390)
    assert problems == [] and not soup.select("script")
    assert [li["data-milestone"] for li in soup.select("li.reached")] == [
        "filed",
        "first-reading",
        "committee",
    ]
    assert soup.select_one(".note") and soup.select_one(".now .evidence")
    screenshot(tmp_path, url, "embed-phone-390.png", 390, 600)


def first_pixel(png: Path) -> bytes:
    """RGB of a PNG's top-left pixel: every PNG filter leaves the first pixel of the first row as
    stored (its left and upper neighbours are zero), so no image library is needed."""
    data, pos, idat = png.read_bytes(), 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)[1:4]


def test_embed_light_and_dark(site: str, tmp_path: Path) -> None:
    url = f"{site}/-/embed/bill/{CIO_BILL}"
    shots = SHOTS
    shots.mkdir(exist_ok=True)
    pixels = {}
    for mode, flags in (("light", []), ("dark", ["--force-dark-mode"])):
        out = shots / f"embed-{mode}.png"
        out.unlink(missing_ok=True)
        result = run_chromium(tmp_path, [*flags, "--window-size=420,380", f"--screenshot={out}", url])
        assert result.returncode == 0 and out.stat().st_size > 5_000
        pixels[mode] = first_pixel(out)
    assert pixels["light"] == b"\xff\xff\xff"
    assert pixels["dark"] == bytes.fromhex("15191e")  # --bg of prefers-color-scheme: dark


@pytest.mark.parametrize("width", [1280, 390])
def test_bill_as_of_in_chromium(site: str, full_crawled_db: Path, tmp_path: Path, width: int) -> None:
    url = f"{site}/-/bill/{CIO_BILL}?as_of={data_day(full_crawled_db)}"
    soup, problems = dump(tmp_path, url, width)
    assert problems == []
    assert soup.select_one(".bt-version-banner")["data-version"] == "1"
    assert soup.select_one("dd.evidence") and soup.select_one(".bt-caveat")
    name = "bill-as-of-desktop.png" if width > 400 else "bill-as-of-phone-390.png"
    screenshot(tmp_path, url, name, width, 1800 if width > 400 else 3000)
