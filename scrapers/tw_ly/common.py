"""What the secondary-source spiders share: requests that check bodies, problems, HTTP errors,
and re-fetching what an earlier run lost (`-a retry_of=RUN_ID`, scrapers/missed.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from scrapers.items import ProblemItem
from scrapers.missed import MISSED_ID, read_missed, request_record
from scrapers.tw_ly.responses import fetch_item


class SourceSpider(scrapy.Spider):
    """Base of every spider: one errback, one way to report a problem, one way to retry."""

    source = ""

    def __init__(self, *args: Any, retry_of: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # -a retry_of=RUN_ID: fetch only what that run lost. Replacing `start` on the instance
        # keeps every spider's own start() untouched (Scrapy calls spider.start()).
        self.retry_of = int(retry_of or 0)
        if self.retry_of:
            self.start = self.retry_start  # type: ignore[method-assign]

    async def retry_start(self) -> AsyncIterator[Any]:
        """The requests run `retry_of` lost, each with its own callback, instead of the start."""
        missed = read_missed(self.settings.get("BILLTRACKER_DB"), self.retry_of, self.name)
        self.logger.info("retry of run %d: %d missed request(s)", self.retry_of, len(missed))
        for m in missed:
            callback = getattr(self, m.callback, None) if m.callback else None
            if not callable(callback):
                # Renamed since, or never known: lost again, and said so (not silently dropped).
                yield ProblemItem(
                    kind="unretriable",
                    message=f"run {self.retry_of} lost it; no callback {m.callback!r} to parse it again",
                    url=m.url,
                    spider=self.name,
                    request={**m.__dict__, "missed_id": m.id},
                )
                continue
            yield scrapy.Request(
                m.url,
                method=m.method,
                callback=callback,
                errback=self.on_error,
                cb_kwargs=m.cb_kwargs,
                meta={**m.meta, MISSED_ID: m.id},
                dont_filter=True,
            )

    def request(self, url: str, callback: Any, min_bytes: int = 0, **kwargs: Any) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.on_error,
            cb_kwargs=kwargs,
            meta={"check_body": {"min_bytes": min_bytes}},
        )

    def problem(
        self,
        response: Response,
        kind: str,
        message: str,
        bill_no: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> ProblemItem:
        self.logger.error("%s at %s: %s", kind, response.url, message)
        return ProblemItem(
            kind=kind,
            message=message,
            url=response.url,
            spider=self.name,
            bill_no=bill_no,
            detail={"status": response.status, "bytes": len(response.body), **(detail or {})},
            request=request_record(getattr(response, "request", None)),
        )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        bill_no = request.cb_kwargs.get("bill_no")
        if failure.check(HttpError):
            response = failure.value.response
            yield fetch_item(response, self.name)
            yield self.problem(response, f"http-{response.status}", f"HTTP {response.status}", bill_no)
            return
        self.logger.error("network at %s: %s", request.url, failure.getErrorMessage())
        yield ProblemItem(
            kind="network",
            message=f"{failure.type.__name__}: {failure.getErrorMessage()}",
            url=request.url,
            spider=self.name,
            bill_no=bill_no,
            request=request_record(request),
        )
