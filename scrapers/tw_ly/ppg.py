"""tw_ly_ppg: ppg.ly.gov.tw, the Legislative Yuan's own bill pages: the authority for stages.

The bill list JSON (/ppg/api/v1/all-bills?term=..&page=..&size=..) is paged per term; each
bill's detail page (/ppg/bills/{billNo}/details) is read by scrapers/tw_ly/ppg_pages.py. Pages
that are not data (此筆資料尚未建置, block pages, anything under TW_LY_PPG_MIN_BYTES) are retried
with backoff by scrapers.health.BlockPageRetryMiddleware and then recorded as problems.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from scrapers.health import bad_body, check_term
from scrapers.items import SourceBillItem
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.ppg_pages import parse_detail
from scrapers.tw_ly.responses import BadBody, decode, fetch_item, provenance, read_json


class TwLyPpgSpider(SourceSpider):
    name = "tw_ly_ppg"
    source = "ppg"
    allowed_domains = ["ppg.ly.gov.tw", "127.0.0.1", "localhost"]

    @property
    def base(self) -> str:
        return self.settings.get("TW_LY_PPG_BASE").rstrip("/")

    def list_url(self, term: int, page: int) -> str:
        size = self.settings.getint("TW_LY_PPG_PAGE_SIZE")
        query = urlencode({"term": f"{term:02d}", "page": page, "size": size})
        return f"{self.base}/ppg/api/v1/all-bills?{query}"

    def detail_url(self, bill_no: str) -> str:
        return f"{self.base}/ppg/bills/{bill_no}/details"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for term in self.settings.getlist("TW_LY_PPG_TERMS"):
            yield self.request(self.list_url(int(term), 1), self.parse_list, term=int(term), page=1)

    def parse_list(self, response: Response, term: int, page: int) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            data = body["data"]
            bills = data["list"]
            total = int(data.get("total") or 0)
            size = int(data.get("size") or len(bills) or 1)
            if not isinstance(bills, list):
                raise BadBody("wrong-shape", "'data.list' is not a list")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        except (KeyError, TypeError, ValueError) as exc:
            yield self.problem(response, "wrong-shape", f"bill list without {exc}")
            return
        if not bills and (total > 0 or page == 1):
            # A term's first page is never empty, and no page is empty while total says otherwise.
            yield self.problem(response, "empty-page", f"page {page} of term {term} empty (total={total})")
            return
        for i, entry in enumerate(bills, start=1):
            bill_no = str(entry.get("billNo") or "").strip()
            if not bill_no:
                yield self.problem(response, "wrong-shape", f"entry {i} without billNo")
                continue
            if not check_term(self, self.source, entry.get("term"), f"{response.url} entry {i}"):
                continue
            yield self.request(
                self.detail_url(bill_no),
                self.parse_detail,
                min_bytes=self.settings.getint("TW_LY_PPG_MIN_BYTES"),
                bill_no=bill_no,
                term=str(entry.get("term") or ""),
            )
        if page < math.ceil(total / size):
            yield self.request(self.list_url(term, page + 1), self.parse_list, term=term, page=page + 1)

    def parse_detail(self, response: Response, bill_no: str, term: str = "") -> Iterator[Any]:
        yield fetch_item(response, self.name)
        kind = bad_body(response.body, self.settings.getint("TW_LY_PPG_MIN_BYTES"))
        if kind:
            message = {
                "placeholder-page": "page says 此筆資料尚未建置",
                "short-page": f"detail page of {len(response.body)} bytes: too short to be a bill page",
            }.get(kind, "a block or error page came back with status 200")
            yield self.problem(response, kind, message, bill_no)
            return
        try:
            record = parse_detail(decode(response.body))
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message, bill_no)
            return
        if not record["flow"] and not record["title"]:
            yield self.problem(response, "empty-page", "detail page without title or 議案流程", bill_no)
            return
        yield SourceBillItem(
            source=self.source,
            key=bill_no,
            bill_no=bill_no,
            provenance=provenance(response, self.name),
            term=term,
            title=record["title"],
            status_raw=record["status_raw"],
            filed_on_raw=record["filed_on_raw"],
            proposers=record["proposers"],
            cosponsors=record["cosponsors"],
            related=record["related"],
            flow=record["flow"],
            record=record,
        )
