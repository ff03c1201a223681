"""Crawl health on the real engine: 200-status block pages retried with backoff and never stored;
the body checks and the term-drift rule one case at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlite_utils
from scrapy.settings import Settings

from billtracker.replay import ReplayServer
from scrapers.health import bad_body, term_status
from tests.conftest import run_crawl

CIO_DETAIL = "/ppg/bills/1051006070201100/details"
CAPTCHA = (
    200,
    "<html><body>系統偵測到異常流量，請輸入驗證碼 captcha</body></html>".encode(),
    {"Content-Type": "text/html"},
)


@pytest.mark.parametrize(
    ("body", "min_bytes", "kind"),
    [
        (b"", 0, "empty-body"),
        ("<p>此筆資料尚未建置</p>".encode(), 0, "placeholder-page"),
        (b"<html>403 Forbidden</html>", 0, "block-page"),
        ("<html>拒絕存取</html>".encode(), 0, "block-page"),
        (b"<html>" + b"x" * 100 + b"</html>", 9000, "short-page"),
        (b"<html>" + b"x" * 9000 + b"</html>", 9000, None),
    ],
)
def test_bad_body(body: bytes, min_bytes: int, kind: str | None) -> None:
    assert bad_body(body, min_bytes) == kind


def test_term_status() -> None:
    settings = Settings({"TRACKED_TERMS": [9, 10, 11], "IGNORED_TERMS": [7, 8]})
    assert [term_status(t, settings) for t in (9, 8, 12, None)] == ["tracked", "ignored", "drift", "tracked"]


def crawl_ppg(
    tmp_path: Path, samples_dir: Path, overlay: object, exit_code: int = 0
) -> tuple[sqlite_utils.Database, list[str]]:
    with ReplayServer(samples_dir=samples_dir, overlay=overlay) as server:
        result = run_crawl(tmp_path / "h.db", server.base_url, spider="tw_ly_ppg")
        assert result.returncode == exit_code, result.stderr[-2000:]
        return sqlite_utils.Database(tmp_path / "h.db"), server.requests


@pytest.mark.slow
def test_block_page_once_is_retried_then_stored(tmp_path: Path, samples_dir: Path) -> None:
    served = threading.Event()

    def once(path_qs: str) -> tuple | None:
        if path_qs == CIO_DETAIL and not served.is_set():
            served.set()
            return CAPTCHA
        return None

    db, requests = crawl_ppg(tmp_path, samples_dir, once)
    assert requests.count(CIO_DETAIL) == 2
    assert [
        r["source_key"] for r in db["source_bills"].rows_where("source = 'ppg'", order_by="source_key")
    ] == [
        "1051006070201100",
        "1051006070201200",
    ]
    assert not [p for p in db["problems"].rows if p["kind"] == "block-page"]


@pytest.mark.slow
def test_persistent_block_page_is_a_problem_never_data(tmp_path: Path, samples_dir: Path) -> None:
    # Issue 11: the page's data was not obtained, so the run is partial and `scrapy crawl` exits 1.
    db, requests = crawl_ppg(tmp_path, samples_dir, {CIO_DETAIL: CAPTCHA}, exit_code=1)
    assert requests.count(CIO_DETAIL) == 3  # first try + BLOCK_PAGE_RETRY_TIMES
    [problem] = [p for p in db["problems"].rows if p["kind"] == "block-page"]
    assert problem["bill_no"] == "1051006070201100"
    assert [r["source_key"] for r in db["source_bills"].rows] == ["1051006070201200"]
    [run] = db["scrape_runs"].rows
    assert (run["status"], run["missed"]) == ("partial", 1)
    [missed] = db["missed_requests"].rows
    assert (missed["kind"], missed["callback"]) == ("block-page", "parse_detail")
    assert missed["url"].endswith(CIO_DETAIL)
