"""Health of a crawl: block pages that come back as 200, term drift, empty pages.

- A WAF or captcha page, a 403 text, 此筆資料尚未建置 or a ppg detail page under ~9 KB is not
  data: BlockPageRetryMiddleware retries it with backoff, and if it persists the spider records
  a problem and stores nothing from it.
- A source listing a term (屆) that settings neither track nor ignore fails the crawl loudly
  (openstates' session-drift check): the spider closes with reason "term-drift" and
  `scrapy crawl` exits 1 (scrapers/commands/crawl.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, Response

from scrapers.commands.crawl import FAILED_STAT
from scrapers.middlewares import backoff_seconds
from scrapers.tw_ly.responses import BLOCK_MARKERS, PLACEHOLDER

logger = logging.getLogger(__name__)

# Extra block-page wording seen on Taiwanese government sites (in Chinese, status 200).
BLOCK_MARKERS_ZH = ("請輸入驗證碼", "拒絕存取", "您的請求已被阻擋", "存取被拒", "系統維護中")


class TermDrift(CloseSpider):
    """Raised from a callback: closes the spider with reason 'term-drift'."""

    def __init__(self, source: str, term: int, where: str) -> None:
        super().__init__("term-drift")
        self.message = (
            f"{source} lists term {term} at {where}, which settings neither track (TRACKED_TERMS) "
            f"nor ignore (IGNORED_TERMS): add it to one of them"
        )


def bad_body(body: bytes, min_bytes: int = 0) -> str | None:
    """The kind of non-data page this is ('placeholder-page', 'block-page', 'short-page'), or None."""
    text = body[:20000].decode("utf-8", errors="replace")
    lowered = text.lower()
    if not body.strip():
        return "empty-body"
    if PLACEHOLDER in text:
        return "placeholder-page"
    if any(m in lowered for m in BLOCK_MARKERS) or any(m in text for m in BLOCK_MARKERS_ZH):
        return "block-page"
    if min_bytes and len(body) < min_bytes:
        return "short-page"
    return None


def term_status(term: int | None, settings: Any) -> str:
    """'tracked', 'ignored' or 'drift' for a term a source lists (None = no term given: tracked)."""
    if term is None:
        return "tracked"
    if term in {int(t) for t in settings.getlist("TRACKED_TERMS")}:
        return "tracked"
    if term in {int(t) for t in settings.getlist("IGNORED_TERMS")}:
        return "ignored"
    return "drift"


def check_term(spider: Any, source: str, raw_term: Any, where: str) -> bool:
    """True when the term is tracked; False when ignored; raises TermDrift (after marking the
    crawl failed) when neither."""
    text = str(raw_term or "").strip()
    term = int(text) if text.isdigit() else None
    status = term_status(term, spider.settings)
    if status == "drift":
        assert term is not None
        drift = TermDrift(source, term, where)
        spider.logger.error("term drift: %s", drift.message)
        spider.crawler.stats.set_value(FAILED_STAT, drift.message)
        raise drift
    return status == "tracked"


class BlockPageRetryMiddleware:
    """Retry a 200 that is a block/placeholder page, with the same backoff as 429/5xx.

    Only for requests whose meta has `check_body` (a dict: {"min_bytes": N}); after the retries
    the page reaches the spider, which records it as a problem and stores nothing.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.base = settings.getfloat("BACKOFF_BASE_SECONDS")
        self.cap = settings.getfloat("BACKOFF_MAX_SECONDS")
        self.max_retry_times = settings.getint("BLOCK_PAGE_RETRY_TIMES")

    @classmethod
    def from_crawler(cls, crawler: Any) -> BlockPageRetryMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        check = request.meta.get("check_body")
        if check is None or response.status != 200:
            return response
        kind = bad_body(response.body, int(check.get("min_bytes", 0)))
        if kind is None:
            return response
        retries = request.meta.get("retry_times", 0)
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=kind, max_retry_times=self.max_retry_times
        )
        if retry is None:
            return response
        delay = backoff_seconds(retries, self.base, self.cap, None)
        logger.warning("%s from %s: backing off %.1fs", kind, request.url, delay)
        await asyncio.sleep(delay)
        return retry
