"""Retry with exponential backoff and Retry-After, which Scrapy's RetryMiddleware lacks.

A 429 or 5xx from a legislature's server means "come back later", not "ask again now".
"""

from __future__ import annotations

import asyncio
import logging
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message

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
        self.base = settings.getfloat("BACKOFF_BASE_SECONDS", 2.0)
        self.cap = settings.getfloat("BACKOFF_MAX_SECONDS", 120.0)

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
