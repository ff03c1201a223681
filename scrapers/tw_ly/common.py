"""What the secondary-source spiders share: requests that check bodies, problems, HTTP errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from scrapers.items import ProblemItem
from scrapers.tw_ly.responses import fetch_item


class SourceSpider(scrapy.Spider):
    """Base of tw_ly_ppg, tw_ly_opendata, tw_ly_lis: one errback, one way to report a problem."""

    source = ""

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
        )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        bill_no = request.cb_kwargs.get("bill_no")
        if failure.check(HttpError):
            response = failure.value.response
            yield fetch_item(response, self.name)
            yield self.problem(response, f"http-{response.status}", f"HTTP {response.status}", bill_no)
            return
        yield ProblemItem(
            kind="network",
            message=f"{failure.type.__name__}: {failure.getErrorMessage()}",
            url=request.url,
            spider=self.name,
            bill_no=bill_no,
        )
