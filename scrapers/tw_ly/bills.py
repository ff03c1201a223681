"""tw_ly_bills: bills from ly.govapi.tw v2 (LYAPI, OpenFun/g0v), the main source.

Lists bills per query (law code and/or term, any v2 /bills filter) page by page, fetches each
bill's detail, follows 關連議案, and fetches each law a bill names. The base URL and queries are
settings, so the same spider crawls the live API or the local replay.

`-a mode=incremental` (issue 4) lists bills newest progress first, fetches the detail only of
bills that are new or whose list entry differs from what is stored (date, title, 議案狀態), and
stops paging at the first page where nothing changed; it follows no 關連議案 and fetches only
laws not yet stored. Changes a list entry does not show (a cosponsor added without a new date)
and related bills outside the list are caught by the nightly full pass. It sends no `sort`:
skill.md documents `sort=-最新進度日期`, but SearchAction.php reads only a `>`/`<` suffix and
would search a field named "-最新進度日期" and fail; its default order (sortFields()) is
最新進度日期 descending. The spider checks that each page is newest first and, when it is not,
records an `unsorted-listing` problem and crawls that query as a full pass instead.

A full pass never asks past LYAPI's 10,000-result window (scrapers/tw_ly/window.py): a query
whose `total` does not fit is split, from agg counts and 提案日期 ranges, into queries that do.

TW_LY_LIST_FIELDS (the BULK backfill profile sets it) asks the list for whole records through the
swagger's `output_fields`: when the answer echoes every field asked for, each list entry is the
bill's record and no detail request is made (1,000 bills per request instead of one); related
bills not seen in any list are fetched by detail once the lists are done. An API that ignores
the param gets the detail requests as before.

Backfill (issue 11, `billtracker backfill`): `-a mode=plan -a plan_id=N` makes only `limit=1`
probes and agg requests: the same splitting as a full pass, but each leaf query that fits is
recorded in the ledger (PlanLeafItem: its total and pages) instead of being paged.
`-a mode=backfill -a plan_id=N` asks for every ledger page not yet done, splits nothing and asks
for no other page (the plan has them), and after each page's bills hands the store a
PageDoneItem, committed in the same transaction as those bills: a crawl killed with -9 loses at
most the open batch, and a resumed crawl asks again for exactly its pages. A leaf whose total
grew since planning gets its new pages added (if it still fits; else a problem says so).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from scrapers.backfill_ledger import pages_left, query_key
from scrapers.items import BillItem, LawItem, PageDoneItem, PlanLeafItem, Provenance
from scrapers.stages import clean_status
from scrapers.tw_ly import window
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.known import Known, read_known
from scrapers.tw_ly.responses import BadBody, fetch_item, provenance, read_json

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
    # Token by token: a range token (議案編號:P,Q) is not a key=value pair parse_qsl would keep.
    kept = [t for t in parts.query.split("&") if t and not t.startswith("output_fields=")]
    return urlunsplit(parts._replace(query="&".join(kept)))


class TwLyBillsSpider(SourceSpider):
    name = "tw_ly_bills"
    allowed_domains = ["ly.govapi.tw", "v2.ly.govapi.tw", "127.0.0.1", "localhost"]
    # A bill detail is tens of KB (its 對照表 a few hundred at most); 16 MB is a broken answer.
    # The MOJ spider keeps the global DOWNLOAD_MAXSIZE for its bulk export.
    custom_settings = {"DOWNLOAD_MAXSIZE": 16 * 1024 * 1024}

    def __init__(
        self,
        queries: str | None = None,
        mode: str = "full",
        plan_id: str | int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # -a queries='[{"屆": 9}]' overrides TW_LY_BILLS_QUERIES for one run.
        self._queries_arg = json.loads(queries) if queries else None
        if mode not in {"full", "incremental", "plan", "backfill"}:
            raise ValueError(f"mode must be full, incremental, plan or backfill, got {mode!r}")
        self.mode = mode
        # plan / backfill: the backfill_plans row whose ledger this crawl writes (issue 11).
        self.plan_id = int(plan_id or 0)
        if mode in {"plan", "backfill"} and not self.plan_id:
            raise ValueError(f"mode={mode} needs -a plan_id=N (a backfill_plans row)")
        self._resumed_related = False
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

    def queries(self) -> list[dict[str, Any]] | None:
        """The explicit list queries, or None: follow TW_LY_SCOPE."""
        if self._queries_arg is not None:
            return self._queries_arg
        return list(self.settings.getlist("TW_LY_BILLS_QUERIES")) or None

    @cached_property
    def scope(self) -> dict[str, Any]:
        return dict(self.settings.getdict("TW_LY_SCOPE"))

    def current_term(self) -> int:
        """The highest tracked term: upstream listing a newer one fails the crawl (scrapers/health.py)
        until someone adds it to TRACKED_TERMS, and then it is the current term."""
        return max(int(t) for t in self.settings.getlist("TRACKED_TERMS"))

    def laws_url(self, query: dict[str, Any], page: int, agg: str = "") -> str:
        tokens = window.query_string(query) + [f"page={page}", f"limit={self.laws_limit}"]
        return f"{self.base}/laws?{'&'.join(tokens + ([f'agg={quote(agg)}'] if agg else []))}"

    laws_limit = 1000

    @cached_property
    def list_fields(self) -> list[str]:
        """TW_LY_LIST_FIELDS, read once: it is asked for every list page and every related bill."""
        return [str(f) for f in self.settings.getlist("TW_LY_LIST_FIELDS") if f]

    @cached_property
    def limit(self) -> int:
        return self.settings.getint("TW_LY_PAGE_LIMIT")

    @cached_property
    def window(self) -> int:
        return self.settings.getint("TW_LY_RESULT_WINDOW")

    def list_url(
        self, query: dict[str, Any], page: int, limit: int = 0, agg: str = "", probe: bool = False
    ) -> str:
        """A list page; with `agg` or `probe` only its counts matter (no output_fields)."""
        tokens = window.query_string(query)
        tokens += [f"page={page}", f"limit={limit or self.limit}"]
        if agg:
            tokens.append(f"agg={quote(agg)}")
        elif not probe:
            tokens += [f"output_fields={quote(f)}" for f in self.list_fields]
        return f"{self.base}/bills?{'&'.join(tokens)}"

    def bill_url(self, bill_no: str) -> str:
        return f"{self.base}/bills/{quote(bill_no)}"

    def law_url(self, law_code: str) -> str:
        return f"{self.base}/laws/{quote(law_code)}"

    @property
    def planning(self) -> bool:
        return self.mode == "plan"

    def ledger_db(self) -> sqlite3.Connection:
        """The database the store writes, read directly: what the ledger says is committed."""
        return sqlite3.connect(self.settings.get("BILLTRACKER_DB"))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.mode == "backfill":
            for request in self.backfill_requests():
                yield request
            return
        queries = self.queries()
        if queries is None:  # the scope: the current term now, organisational laws once listed
            queries = [{"屆": self.current_term()}] if self.scope.get("current_term", True) else []
            if self.scope.get("law_name_pattern"):
                yield self._request(self.laws_url({}, 1), self.parse_law_list, query={}, page=1)
        for query in queries:
            yield self.root_request(query)

    def root_request(self, query: dict[str, Any]) -> scrapy.Request:
        """The first request of a top-level query: its page 1, or (planning) a limit=1 probe."""
        if self.planning:  # only its total, not a whole page
            url = self.list_url(query, 1, limit=1, probe=True)
            return self._request(url, self.parse_plan_root, query=query)
        return self.page_request(query, 1, full=not self.incremental)

    def backfill_requests(self) -> list[scrapy.Request]:
        """Every ledger page not done, and (a resumed backfill) the laws its bills named that no
        earlier run fetched: their requests died with it."""
        conn = self.ledger_db()
        try:
            left = pages_left(conn, self.plan_id)
            unfetched = [r[0] for r in conn.execute("SELECT law_code FROM laws WHERE fetched_at IS NULL")]
        finally:
            conn.close()
        self.logger.info("backfill: plan %d, %d pages to fetch", self.plan_id, len(left))
        requests = [
            self.page_request(json.loads(key), page, full=True, ledger=(key, pages))
            for key, page, pages in left
        ]
        self.laws_requested.update(unfetched)
        requests += [self._request(self.law_url(c), self.parse_law, law_code=c) for c in unfetched]
        return requests

    def parse_plan_root(self, response: Response, query: dict[str, Any]) -> Iterator[Any]:
        """Planning: a top-level query's total decides whether it is a leaf or split."""
        yield fetch_item(response, self.name)
        body, problem = self.read_list(response)
        if body is None:
            yield problem
            return
        total = int(body.get("total") or 0)
        if total:
            yield from self.descend(response, query, total)

    # --- the scope's organisational laws --------------------------------------------------------

    def parse_law_list(self, response: Response, query: dict[str, Any], page: int) -> Iterator[Any]:
        """A page of /v2/laws: the organisational laws on it become bill queries. LYAPI lists
        13,277 laws, more than its window: the list is split by 類別, then 法律狀態."""
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            laws = body["laws"]
            total = int(body.get("total") or 0)
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        except (KeyError, TypeError, ValueError) as exc:
            yield self.problem(response, "wrong-shape", f"law list without {exc}")
            return
        if page == 1 and not window.fits(total, self.laws_limit, self.window):
            name = next((f for f in ("類別", "法律狀態") if f not in query), None)
            if name is None:
                yield from self.unsplittable(response, query, total)
                return
            url = self.laws_url(query, 1, agg=name)
            yield self._request(url, self.parse_law_buckets, query=query, name=name, total=total)
            return
        codes = [
            str(law.get("法律編號")) for law in laws if isinstance(law, dict) and self.organisational(law)
        ]
        step = max(1, self.settings.getint("TW_LY_LAWS_PER_QUERY"))
        for i in range(0, len(codes), step):
            yield self.root_request({"法律編號": codes[i : i + step]})
        if page == 1:
            for later in range(2, window.page_count(total, self.laws_limit) + 1):
                yield self._request(self.laws_url(query, later), self.parse_law_list, query=query, page=later)

    def parse_law_buckets(
        self, response: Response, query: dict[str, Any], name: str, total: int
    ) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        body, problem = self.read_list(response)
        if body is None:
            yield problem
            return
        children = window.bucket_children(query, name, window.agg_buckets(body, name) or [], total)
        if children is None:
            yield self.problem(
                response,
                "window-split-gap",
                f"{name} does not partition the law list ({total} laws)",
                detail={"missed_laws": total},
            )
            return
        for child, _ in children:
            yield self._request(self.laws_url(child, 1), self.parse_law_list, query=child, page=1)

    @cached_property
    def law_pattern(self) -> re.Pattern[str]:
        return re.compile(str(self.scope.get("law_name_pattern") or "(?!)"))

    def organisational(self, law: dict[str, Any]) -> bool:
        """An organisational law by its name or any former name (行政院新聞局組織條例 ...)."""
        names = [law.get("名稱"), *(law.get("其他名稱") or []), *(law.get("別名") or [])]
        return any(isinstance(n, str) and self.law_pattern.search(n) for n in names)

    def page_request(self, query: dict[str, Any], page: int, full: bool, **kwargs: Any) -> scrapy.Request:
        """One list page; `full` = crawled as a full pass (every entry, every page, split to fit)."""
        return self._request(
            self.list_url(query, page), self.parse_list, query=query, page=page, full=full, **kwargs
        )

    def _request(self, url: str, callback: Any, dont_filter: bool = False, **kwargs: Any) -> scrapy.Request:
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, cb_kwargs=kwargs, dont_filter=dont_filter
        )

    # --- callbacks -------------------------------------------------------------------------

    def read_list(self, response: Response) -> tuple[dict[str, Any] | None, Any]:
        """(body, None) for a readable list answer, else (None, the problem to record)."""
        try:
            body = read_json(response)
            if not isinstance(body, dict):
                raise BadBody("wrong-shape", "the list answer is not an object")
            int(body.get("total") or 0)
            if not isinstance(body.get("bills", []), list):
                raise BadBody("wrong-shape", "'bills' is not a list")
        except BadBody as exc:
            return None, self.problem(response, exc.kind, exc.message)
        except (TypeError, ValueError) as exc:
            return None, self.problem(response, "wrong-shape", f"bill list with a bad total: {exc}")
        return body, None

    def parse_list(
        self,
        response: Response,
        query: dict[str, Any],
        page: int,
        full: bool,
        newest: str | None = None,
        capped: bool = False,
        ledger: tuple[str, int] | None = None,
    ) -> Iterator[Any]:
        """One list page. `capped`: a page of a query too big for the window that nothing splits
        (every reachable page is already asked for). `ledger`: a backfill page, (its leaf query's
        key, the leaf's planned page count): its pages are all in the ledger already."""
        yield fetch_item(response, self.name)
        body, problem = self.read_list(response)
        if body is None:
            yield problem
            return
        if "bills" not in body:
            yield self.problem(response, "wrong-shape", "bill list without 'bills'")
            return
        bills = body["bills"]
        total = int(body.get("total") or 0)
        total_page = int(body.get("total_page") or 0)
        if ledger is not None:
            yield from self.ledger_growth(response, query, total, ledger)
            if not bills and page > total_page:  # the leaf shrank: nothing is left on this page
                yield PageDoneItem(self.plan_id, ledger[0], page, total)
                return
        elif full and page == 1 and not capped and not window.fits(total, self.limit, self.window):
            # Paging on would end in 413s past result 10,000: split the query first.
            self.logger.info("window: %s has %d bills, splitting", window.describe(query), total)
            yield from self.split(response, query, total)
            return
        if not bills and total > 0:
            # A page that should have items and has none is an error, not an empty success.
            yield self.problem(response, "empty-page", f"page {page} empty but total={total}")
            return
        if not full and not self.newest_first(body, bills, newest):
            yield self.problem(
                response,
                "unsorted-listing",
                f"page {page} of {window.describe(query) or 'all bills'} is not newest progress first: "
                "crawling the query as a full pass instead",
            )
            yield self.page_request(query, 1, full=True, dont_filter=True)
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
            if not full and not self.is_new_or_changed(bill):
                continue
            changed += 1
            if prov is not None:
                self.listed.add(bill_no)
                yield from self.bill_outputs(bill_no, bill, prov)
            else:
                yield self._request(self.bill_url(bill_no), self.parse_bill, bill_no=bill_no)
        if ledger is not None:  # after its bills: committed with them, never before
            yield PageDoneItem(self.plan_id, ledger[0], page, total)
            return
        if full:
            if page == 1 and not capped:  # every page at once: the total is known and fits the window
                for later in range(2, total_page + 1):
                    yield self.page_request(query, later, full=True)
            return
        if not changed:
            # Newest progress first: a page with nothing new means the rest is older.
            self.logger.info("incremental: page %d unchanged, stop paging %s", page, query)
            return
        if page < total_page:
            if not window.fits((page + 1) * self.limit, self.limit, self.window):
                self.logger.warning("incremental: %s changed past the window, full pass", query)
                yield self.page_request(query, 1, full=True, dont_filter=True)
                return
            last = str(bills[-1].get("最新進度日期") or "")[:10] if bills else newest
            yield self.page_request(query, page + 1, full=False, newest=last)

    def ledger_growth(
        self, response: Response, query: dict[str, Any], total: int, ledger: tuple[str, int]
    ) -> Iterator[Any]:
        """A backfill leaf with more pages than planned: add the new ones if they still fit."""
        key, planned = ledger
        pages = window.page_count(total, self.limit)
        if pages <= planned:
            return
        if not window.fits(total, self.limit, self.window):
            yield self.problem(
                response,
                "backfill-grew-past-window",
                f"{window.describe(query)} grew to {total} bills since planning, past the window: "
                f"its {planned} planned pages are crawled; plan again for the rest",
                detail={"missed_bills": max(0, total - planned * self.limit)},
            )
            return
        self.logger.info("backfill: %s grew to %d bills, %d pages added", key, total, pages - planned)
        yield PlanLeafItem(self.plan_id, key, total, pages, first_page=planned + 1)
        for later in range(planned + 1, pages + 1):
            yield self.page_request(query, later, full=True, ledger=(key, pages))

    @staticmethod
    def newest_first(body: dict[str, Any], bills: list[dict[str, Any]], before: str | None) -> bool:
        """True if the page is in 最新進度日期 descending order (after the previous page's last
        date); an echoed `sort` naming another field also fails. Empty dates sort last (ES)."""
        echoed = body.get("sort")
        if isinstance(echoed, list) and echoed and str(echoed[0]).rstrip("<>") != "最新進度日期":
            return False
        if isinstance(echoed, list) and echoed and str(echoed[0]).endswith("<"):
            return False
        dates = [str(b.get("最新進度日期") or "")[:10] for b in bills if isinstance(b, dict)]
        if before is not None:
            dates.insert(0, before)
        return all(a >= b or not b for a, b in zip(dates, dates[1:], strict=False)) and all(
            b == "" for a, b in zip(dates, dates[1:], strict=False) if a == ""
        )

    # --- splitting a query to fit the window -------------------------------------------------

    def split(
        self, response: Response, query: dict[str, Any], total: int, tried: frozenset[str] = frozenset()
    ) -> Iterator[Any]:
        """Ask for what splits `query` next: an agg of a split field, or two 議案編號 halves."""
        name = window.next_split(query, tried)
        if name is None:
            yield from self.unsplittable(response, query, total)
        elif name == window.RANGE_FIELD:
            children = window.range_children(query)
            check = window.SplitCheck(query, total, len(children))
            for child in children:
                url = self.list_url(child, 1, limit=1, probe=True)
                yield self._request(url, self.parse_probe, query=child, check=check)
        else:
            url = self.list_url(query, 1, limit=1, agg=name)
            yield self._request(url, self.parse_buckets, query=query, name=name, total=total, tried=tried)

    def descend(self, response: Response, query: dict[str, Any], total: int) -> Iterator[Any]:
        if window.fits(total, self.limit, self.window) and self.planning:
            yield PlanLeafItem(self.plan_id, query_key(query), total, window.page_count(total, self.limit))
        elif window.fits(total, self.limit, self.window):
            yield self.page_request(query, 1, full=True)
        else:
            yield from self.split(response, query, total)

    def parse_buckets(
        self, response: Response, query: dict[str, Any], name: str, total: int, tried: frozenset[str]
    ) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        body, problem = self.read_list(response)
        if body is None:
            yield problem
            return
        buckets = window.agg_buckets(body, name)
        children = window.bucket_children(query, name, buckets, total) if buckets is not None else None
        if children is None:
            self.logger.info("window: %s does not partition %s, next field", name, window.describe(query))
            yield from self.split(response, query, total, tried | {name})
            return
        for child, count in children:
            yield from self.descend(response, child, count)

    def parse_probe(
        self, response: Response, query: dict[str, Any], check: window.SplitCheck
    ) -> Iterator[Any]:
        """One half of a 議案編號 split: its total decides whether it is paged or split again."""
        yield fetch_item(response, self.name)
        body, problem = self.read_list(response)
        if body is None:
            check.add(0)
            yield problem
            return
        total = int(body.get("total") or 0)
        if check.add(total) and check.found != check.expected:
            yield self.problem(
                response,
                "window-split-gap",
                f"the halves of {window.describe(check.query)} hold {check.found} bills, the whole "
                f"{check.expected}: the API did not apply the {window.RANGE_FIELD} range as LYAPI code does",
                detail={"missed_bills": max(0, check.expected - check.found)},
            )
        if total:  # an ignored range ends too: halving stops at one 15-digit prefix
            yield from self.descend(response, query, total)

    def unsplittable(self, response: Response, query: dict[str, Any], total: int) -> Iterator[Any]:
        """Nothing left to split by: crawl what the window reaches and say what it cannot."""
        pages = window.reachable_pages(self.limit, self.window)
        missed = max(0, total - pages * self.limit)
        yield self.problem(
            response,
            "window-unsplittable",
            f"{window.describe(query)} has {total} bills and no filter left to split it: "
            f"{missed} past the 10,000-result window are not reached",
            detail={"missed_bills": missed},
        )
        if self.planning:  # the ledger gets the pages the window reaches, the problem the rest
            yield PlanLeafItem(self.plan_id, query_key(query), total, pages)
            return
        for page in range(1, pages + 1):
            yield self.page_request(query, page, full=True, capped=True)

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
        # Wrong types are recorded by the store (pipelines/normalise/validate.py); here they must
        # only not crash.
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
        if self.settings.getbool("TW_LY_FOLLOW_RELATED") and not self.incremental:
            for related in related_bills if isinstance(related_bills, list) else []:
                other = str(related.get("議案編號") or "").strip() if isinstance(related, dict) else ""
                if other and self.list_fields:
                    self.related_wanted.add(other)  # a later list page may carry it
                elif other:
                    yield self._request(self.bill_url(other), self.parse_bill, bill_no=other)

    def fetch_unlisted_related(self) -> None:
        """List mode, lists done: fetch by detail the related bills no list carried. A backfill
        also fetches those named by bills an earlier, interrupted run stored but did not follow."""
        wanted = set(self.related_wanted)
        if self.mode == "backfill" and self.list_fields and not self._resumed_related:
            self._resumed_related = True
            wanted |= self.stored_related_missing()
        missing = sorted(wanted - self.listed - self.related_requested)
        if not missing:
            return
        self.related_requested.update(missing)
        for bill_no in missing:
            self.crawler.engine.crawl(self._request(self.bill_url(bill_no), self.parse_bill, bill_no=bill_no))
        raise DontCloseSpider

    def stored_related_missing(self) -> set[str]:
        """Related bills named by committed bills and not stored themselves (the open batch's
        bills are in `listed`). Only when following related bills is on."""
        if not self.settings.getbool("TW_LY_FOLLOW_RELATED"):
            return set()
        conn = self.ledger_db()
        try:
            rows = conn.execute(
                "SELECT DISTINCT r.related_bill_no FROM related_bills r "
                "LEFT JOIN bills b ON b.bill_no = r.related_bill_no WHERE b.bill_no IS NULL"
            )
            return {str(r[0]) for r in rows if r[0]}
        finally:
            conn.close()

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
