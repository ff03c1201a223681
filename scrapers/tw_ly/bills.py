"""tw_ly_bills: bills from ly.govapi.tw v2 (LYAPI, OpenFun/g0v), the main source.

Lists bills per query (law code and/or term, any v2 /bills filter) page by page, fetches each
bill's detail, follows 關連議案, and fetches each law a bill names. The base URL and queries are
settings, so the same spider crawls the live API or the local replay.

`-a mode=incremental` (issue 4) lists bills sorted by 最新進度日期, newest first, fetches the
detail only of bills that are new or whose list entry differs from what is stored (date, title,
議案狀態), and stops paging at the first page where nothing changed; it follows no 關連議案 and
fetches only laws not yet stored. Changes a list entry does not show (a cosponsor added without
a new date) and related bills outside the list are caught by the nightly full pass.

TW_LY_LIST_FIELDS (the BULK backfill profile sets it) asks the list for whole records through the
swagger's `output_fields`: when the answer echoes every field asked for, each list entry is the
bill's record and no detail request is made (1,000 bills per request instead of one); related
bills not seen in any list are fetched by detail once the lists are done. An API that ignores
the param gets the detail requests as before.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from scrapers.items import BillItem, LawItem, Provenance
from scrapers.stages import clean_status
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.known import Known, read_known
from scrapers.tw_ly.responses import BadBody, fetch_item, provenance, read_json

INCREMENTAL_SORT = "-最新進度日期"
# Every key of a v2 bill detail (samples/ly.govapi.tw_v2/ly-mcp_bill_detail.json): asking the list
# for all of them makes each list entry the bill's whole record.
WHOLE_RECORD_FIELDS = [
    "屆", "議案編號", "會議代碼", "資料抓取時間", "提案日期", "最新進度日期", "法律編號", "法律編號:str",
    "相關附件", "議案流程", "關連議案", "議案名稱", "提案單位/提案委員", "議案狀態", "提案人", "連署人",
    "議案類別", "提案來源", "會期", "字號", "提案編號", "案由", "說明", "對照表", "url",
]  # fmt: skip


def without_output_fields(url: str) -> str:
    """The list URL minus its output_fields params: the page it names, not the columns asked for."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "output_fields"]
    return urlunsplit(parts._replace(query=urlencode(kept)))


class TwLyBillsSpider(SourceSpider):
    name = "tw_ly_bills"
    allowed_domains = ["ly.govapi.tw", "v2.ly.govapi.tw", "127.0.0.1", "localhost"]
    # A bill detail is tens of KB (its 對照表 a few hundred at most); 16 MB is a broken answer.
    # The MOJ spider keeps the global DOWNLOAD_MAXSIZE for its bulk export.
    custom_settings = {"DOWNLOAD_MAXSIZE": 16 * 1024 * 1024}

    def __init__(self, queries: str | None = None, mode: str = "full", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # -a queries='[{"屆": 9}]' overrides TW_LY_BILLS_QUERIES for one run.
        self._queries_arg = json.loads(queries) if queries else None
        if mode not in {"full", "incremental"}:
            raise ValueError(f"mode must be full or incremental, got {mode!r}")
        self.mode = mode
        self._known: Known | None = None
        # List mode (TW_LY_LIST_FIELDS): bills stored from list entries, and related bills to fetch
        # by detail at the end if no list carried them.
        self.listed: set[str] = set()
        self.related_wanted: set[str] = set()
        self.related_requested: set[str] = set()
        self.laws_requested: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> TwLyBillsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.fetch_unlisted_related, signal=signals.spider_idle)
        return spider

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"

    @property
    def known(self) -> Known:
        if self._known is None:
            self._known = read_known(self.settings.get("BILLTRACKER_DB")) if self.incremental else Known()
        return self._known

    def is_new_or_changed(self, entry: dict[str, Any]) -> bool:
        """Compare a list entry with the stored bill; anything unsure counts as changed."""
        stored = self.known.bills.get(str(entry.get("議案編號") or "").strip())
        if stored is None:
            return True
        listed = (
            str(entry.get("最新進度日期") or "")[:10],
            str(entry.get("議案名稱") or "").strip(),
            clean_status(str(entry.get("議案狀態") or "")),
        )
        return listed != stored

    @property
    def base(self) -> str:
        return self.settings.get("TW_LY_API_BASE").rstrip("/")

    def queries(self) -> list[dict[str, Any]]:
        if self._queries_arg is not None:
            return self._queries_arg
        return list(self.settings.getlist("TW_LY_BILLS_QUERIES"))

    @cached_property
    def list_fields(self) -> list[str]:
        """TW_LY_LIST_FIELDS, read once: it is asked for every list page and every related bill."""
        return [str(f) for f in self.settings.getlist("TW_LY_LIST_FIELDS") if f]

    def list_url(self, query: dict[str, Any], page: int) -> str:
        limit = self.settings.getint("TW_LY_PAGE_LIMIT", 100)
        params = [(k, str(v)) for k, v in query.items()] + [("page", str(page)), ("limit", str(limit))]
        if self.incremental:
            params.append(("sort", INCREMENTAL_SORT))
        params += [("output_fields", f) for f in self.list_fields]
        return f"{self.base}/bills?{urlencode(params)}"

    def bill_url(self, bill_no: str) -> str:
        return f"{self.base}/bills/{quote(bill_no)}"

    def law_url(self, law_code: str) -> str:
        return f"{self.base}/laws/{quote(law_code)}"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for query in self.queries():
            yield self._request(self.list_url(query, 1), self.parse_list, query=query, page=1)

    def _request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=self.on_error, cb_kwargs=kwargs)

    # --- callbacks -------------------------------------------------------------------------

    def parse_list(self, response: Response, query: dict[str, Any], page: int) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            bills = body["bills"]
            total = int(body.get("total") or 0)
            total_page = int(body.get("total_page") or 0)
            if not isinstance(bills, list):
                raise BadBody("wrong-shape", "'bills' is not a list")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        except (KeyError, TypeError, ValueError) as exc:
            yield self.problem(response, "wrong-shape", f"bill list without {exc}")
            return
        if not bills and total > 0:
            # A page that should have items and has none is an error, not an empty success.
            yield self.problem(response, "empty-page", f"page {page} empty but total={total}")
            return
        # Whole records in the list only if the API echoes every field asked for.
        echoed = body.get("output_fields")
        whole = bool(self.list_fields) and isinstance(echoed, list) and set(self.list_fields) <= set(echoed)
        prov = self.list_provenance(response) if whole else None
        changed = 0
        for bill in bills:
            bill_no = str(bill.get("議案編號") or "").strip()
            if not bill_no:
                yield self.problem(response, "wrong-shape", "list entry without 議案編號")
                continue
            if self.incremental and not self.is_new_or_changed(bill):
                continue
            changed += 1
            if prov is not None:
                self.listed.add(bill_no)
                yield from self.bill_outputs(bill_no, bill, prov)
            else:
                yield self._request(self.bill_url(bill_no), self.parse_bill, bill_no=bill_no)
        if self.incremental and not changed:
            # Sorted newest progress first: a page with nothing new means the rest is older.
            self.logger.info("incremental: page %d unchanged, stop paging %s", page, query)
            return
        if page < total_page:
            yield self._request(self.list_url(query, page + 1), self.parse_list, query=query, page=page + 1)

    def list_provenance(self, response: Response) -> Provenance:
        """Provenance of the bills a whole-record list page carries, hashed once per page.

        source_url names the list page without its 25 percent-encoded output_fields (~1.3 KB that
        every stage and sponsor row would repeat: 45 KB per bill, 6 GB at 150k); the exact request
        is the `fetches` row with the same content_sha256."""
        prov = provenance(response, self.name)
        return replace(prov, source_url=without_output_fields(prov.source_url))

    def parse_bill(self, response: Response, bill_no: str) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            record = body.get("data") if isinstance(body, dict) else None
            if not isinstance(record, dict):
                raise BadBody("wrong-shape", "bill detail without a 'data' object")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message, bill_no=bill_no)
            return
        found = str(record.get("議案編號") or "")
        if found != bill_no:
            yield self.problem(
                response, "wrong-shape", f"asked for {bill_no}, got {found!r}", bill_no=bill_no
            )
            return
        yield from self.bill_outputs(bill_no, record, provenance(response, self.name))

    def bill_outputs(self, bill_no: str, record: dict[str, Any], prov: Provenance) -> Iterator[Any]:
        """The bill's item, then requests for its laws and (full pass) its 關連議案."""
        yield BillItem(bill_no=bill_no, record=record, provenance=prov)
        # Wrong types are recorded by the store (pipelines/validate.py); here they must only not crash.
        codes = record.get("法律編號")
        for code in codes if isinstance(codes, list) else []:
            if not isinstance(code, str | int) or not str(code).strip():
                continue
            code = str(code)
            # incremental: stored laws wait for the full pass. Each law is asked for once: 150k bills
            # name ~1,400 laws, and a request the dupe filter drops still costs its fingerprint.
            if code not in self.known.laws and code not in self.laws_requested:
                self.laws_requested.add(code)
                yield self._request(self.law_url(code), self.parse_law, law_code=code)
        # Incremental refresh stays on the list: related bills outside it wait for the full pass.
        related_bills = record.get("關連議案")
        if self.settings.getbool("TW_LY_FOLLOW_RELATED", True) and not self.incremental:
            for related in related_bills if isinstance(related_bills, list) else []:
                other = str(related.get("議案編號") or "").strip() if isinstance(related, dict) else ""
                if other and self.list_fields:
                    self.related_wanted.add(other)  # a later list page may carry it
                elif other:
                    yield self._request(self.bill_url(other), self.parse_bill, bill_no=other)

    def fetch_unlisted_related(self) -> None:
        """List mode, lists done: fetch by detail the related bills no list carried."""
        missing = sorted(self.related_wanted - self.listed - self.related_requested)
        if not missing:
            return
        self.related_requested.update(missing)
        for bill_no in missing:
            self.crawler.engine.crawl(self._request(self.bill_url(bill_no), self.parse_bill, bill_no=bill_no))
        raise DontCloseSpider

    def parse_law(self, response: Response, law_code: str) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            record = body.get("data") if isinstance(body, dict) else None
            if not isinstance(record, dict) or not record.get("法律編號"):
                raise BadBody("wrong-shape", "law detail without a 'data' object")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        yield LawItem(law_code=law_code, record=record, provenance=provenance(response, self.name))
