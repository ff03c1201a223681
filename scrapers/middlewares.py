"""Downloader middlewares: retry with exponential backoff and Retry-After, which Scrapy's
RetryMiddleware lacks (a 429 or 5xx from a legislature's server means "come back later", not "ask
again now"); and the upstream URL a replayed response stands for.
"""

from __future__ import annotations

import asyncio
import logging
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message

from scrapers.tw_ly.responses import UPSTREAM_META, upstream_url

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(text) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def backoff_seconds(retries: int, base: float, cap: float, retry_after: float | None) -> float:
    """base * 2**retries, at least what the server asked for, never more than cap."""
    delay = base * (2**retries)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, cap)


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self.base = settings.getfloat("BACKOFF_BASE_SECONDS")
        self.cap = settings.getfloat("BACKOFF_MAX_SECONDS")

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retries = request.meta.get("retry_times", 0)
        delay = backoff_seconds(
            retries, self.base, self.cap, retry_after_seconds(response.headers.get("Retry-After"))
        )
        reason = response_status_message(response.status)
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=reason, max_retry_times=self.max_retry_times
        )
        if retry is None:
            return response
        logger.warning("HTTP %s from %s: backing off %.1fs", response.status, request.url, delay)
        await asyncio.sleep(delay)
        return retry


class UpstreamUrlMiddleware:
    """Marks each response with the upstream URL it stands for (BILLTRACKER_UPSTREAM), which
    provenance() stores as the source link; the response's own URL stays what `fetches` records.
    Live crawls set no map: every URL stands for itself."""

    def __init__(self, upstream: dict[str, str]) -> None:
        self.upstream = upstream

    @classmethod
    def from_crawler(cls, crawler):  # type: ignore[no-untyped-def]
        return cls({str(k): str(v) for k, v in crawler.settings.getdict("BILLTRACKER_UPSTREAM").items()})

    def process_response(self, request: Request, response: Response) -> Response:
        if self.upstream:
            request.meta[UPSTREAM_META] = upstream_url(response.url, self.upstream)
        return response
