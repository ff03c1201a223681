"""tw_ly_bills, city-scrapers style: the replay's own bodies as Scrapy responses, callbacks called
directly; then one real-engine crawl (the shared ``crawled_db``) for provenance end to end."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import scrapy
from scrapy.http import Request, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.utils.test import get_crawler

from billtracker.replay import ReplayServer
from billtracker.replay.upstream import upstream_map
from scrapers.items import BillItem, FetchItem, LawItem, ProblemItem
from scrapers.tw_ly.bills import WHOLE_RECORD_FIELDS, TwLyBillsSpider, without_output_fields
from scrapers.tw_ly.responses import upstream_url
from tests.conftest import run_crawl

CIO_BILL = "1051006070201100"
MERGED_BILL = "1050219070203400"  # 4 關連議案, including the committee's merged-review report


def spider_for(base_url: str, **overrides: Any) -> TwLyBillsSpider:
    """The spider with the project's real settings, pointed at the replay."""
    settings = Settings()
    settings.setmodule("scrapers.settings", priority="project")
    # Only what scrapers.settings sets: Scrapy's own defaults (the reactor) stay get_crawler's.
    project = {k: settings[k] for k in settings if settings.getpriority(k) == SETTINGS_PRIORITIES["project"]}
    values = {**project, "TW_LY_API_BASE": f"{base_url}/v2", **overrides}
    return TwLyBillsSpider.from_crawler(get_crawler(TwLyBillsSpider, values))


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read(), dict(resp.headers)


def response_for(request: Request) -> TextResponse:
    """What the downloader would hand the callback: the replay's body for this very request."""
    status, body, headers = fetch(request.url)
    return TextResponse(url=request.url, status=status, body=body, headers=headers, request=request)


def run_callback(request: Request) -> list[Any]:
    return list(request.callback(response_for(request), **request.cb_kwargs))


def of(kind: type, results: list[Any]) -> list[Any]:
    return [r for r in results if isinstance(r, kind)]


def decoded(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return unquote(parts.path), parse_qs(parts.query)


@pytest.fixture(scope="module")
def spider(replay: ReplayServer) -> TwLyBillsSpider:
    return spider_for(replay.base_url, TW_LY_PAGE_LIMIT=10)


async def first_requests(spider: TwLyBillsSpider) -> list[Request]:
    return [r async for r in spider.start()]


def test_start_lists_each_query_from_page_one(replay: ReplayServer) -> None:
    spider = spider_for(replay.base_url, TW_LY_BILLS_QUERIES=[{"屆": 9}, {"法律編號": "01010"}])
    requests = asyncio.run(first_requests(spider))
    assert [decoded(r.url) for r in requests] == [
        ("/v2/bills", {"屆": ["9"], "page": ["1"], "limit": ["100"]}),
        ("/v2/bills", {"法律編號": ["01010"], "page": ["1"], "limit": ["100"]}),
    ]
    assert all(r.callback == spider.parse_list and r.errback == spider.on_error for r in requests)
    assert requests[0].cb_kwargs == {"query": {"屆": 9}, "page": 1, "full": True}
    # the project's settings reached the spider (polite identity, retry middleware)
    assert spider.settings["USER_AGENT"].startswith("billtracker/")
    assert spider.settings.getint("RETRY_TIMES") == 4


def test_parse_list_requests_details_and_every_later_page(spider: TwLyBillsSpider) -> None:
    request = Request(
        spider.list_url({"屆": 9}, 1),
        callback=spider.parse_list,
        cb_kwargs={"query": {"屆": 9}, "page": 1, "full": True},
    )
    results = run_callback(request)
    fetches = of(FetchItem, results)
    assert len(fetches) == 1 and fetches[0].status == 200 and len(fetches[0].content_sha256) == 64
    requests = of(scrapy.Request, results)
    details = [r for r in requests if r.callback == spider.parse_bill]
    assert len(details) == 10  # TW_LY_PAGE_LIMIT
    for r in details:
        assert r.url == f"{spider.base}/bills/{r.cb_kwargs['bill_no']}"
        assert re.fullmatch(r"\d{16}", r.cb_kwargs["bill_no"])
    # 27 bills at 10 a page: the total fits the window, so pages 2 and 3 are asked for at once
    next_pages = [r for r in requests if r.callback == spider.parse_list]
    assert [decoded(r.url)[1]["page"] for r in next_pages] == [["2"], ["3"]]
    assert next_pages[0].cb_kwargs == {"query": {"屆": 9}, "page": 2, "full": True}
    assert of(ProblemItem, results) == []


def test_last_page_has_no_next_page(spider: TwLyBillsSpider) -> None:
    request = Request(
        spider.list_url({"屆": 9}, 3),
        callback=spider.parse_list,
        cb_kwargs={"query": {"屆": 9}, "page": 3, "full": True},
    )
    results = run_callback(request)
    requests = of(scrapy.Request, results)
    assert len(requests) == 7  # 27 bills: 10 + 10 + 7
    assert all(r.callback == spider.parse_bill for r in requests)


def test_pages_cover_every_bill_once(spider: TwLyBillsSpider) -> None:
    seen: list[str] = []
    request = Request(
        spider.list_url({"屆": 9}, 1),
        callback=spider.parse_list,
        cb_kwargs={"query": {"屆": 9}, "page": 1, "full": True},
    )
    pending = [request]
    while pending:
        results = of(scrapy.Request, run_callback(pending.pop(0)))
        seen += [r.cb_kwargs["bill_no"] for r in results if r.callback == spider.parse_bill]
        pending += [r for r in results if r.callback == spider.parse_list]
    assert len(seen) == len(set(seen)) == 27 and CIO_BILL in seen


def test_parse_bill_yields_the_raw_record_and_its_law(spider: TwLyBillsSpider) -> None:
    request = Request(spider.bill_url(CIO_BILL), callback=spider.parse_bill, cb_kwargs={"bill_no": CIO_BILL})
    response = response_for(request)
    results = list(spider.parse_bill(response, bill_no=CIO_BILL))
    (bill,) = of(BillItem, results)
    assert bill.bill_no == CIO_BILL
    assert bill.record == json.loads(response.body)["data"]  # raw, not normalised
    assert bill.provenance.source_url == response.url
    assert bill.provenance.content_sha256 == hashlib.sha256(response.body).hexdigest()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", bill.provenance.fetched_at)
    laws = [r for r in of(scrapy.Request, results) if r.callback == spider.parse_law]
    assert [(r.url, r.cb_kwargs) for r in laws] == [(f"{spider.base}/laws/01010", {"law_code": "01010"})]


def test_parse_bill_follows_related_bills(spider: TwLyBillsSpider) -> None:
    request = Request(
        spider.bill_url(MERGED_BILL), callback=spider.parse_bill, cb_kwargs={"bill_no": MERGED_BILL}
    )
    results = run_callback(request)
    (bill,) = of(BillItem, results)
    related = [r for r in of(scrapy.Request, results) if r.callback == spider.parse_bill]
    expected = [str(r["議案編號"]) for r in bill.record["關連議案"]]
    assert len(expected) == 4
    assert [r.cb_kwargs["bill_no"] for r in related] == expected
    assert all(r.url == spider.bill_url(r.cb_kwargs["bill_no"]) for r in related)


def test_related_bills_not_followed_when_switched_off(replay: ReplayServer) -> None:
    spider = spider_for(replay.base_url, TW_LY_FOLLOW_RELATED=False)
    request = Request(
        spider.bill_url(MERGED_BILL), callback=spider.parse_bill, cb_kwargs={"bill_no": MERGED_BILL}
    )
    requests = of(scrapy.Request, run_callback(request))
    assert all(r.callback == spider.parse_law for r in requests)


def test_parse_law(spider: TwLyBillsSpider) -> None:
    request = Request(spider.law_url("01010"), callback=spider.parse_law, cb_kwargs={"law_code": "01010"})
    results = run_callback(request)
    (law,) = of(LawItem, results)
    assert (law.law_code, law.record["名稱"]) == ("01010", "行政院組織法")
    assert len(of(FetchItem, results)) == 1


def test_a_detail_answering_for_another_bill_is_a_problem(spider: TwLyBillsSpider) -> None:
    request = Request(spider.bill_url(CIO_BILL), callback=spider.parse_bill, cb_kwargs={"bill_no": "9999"})
    results = list(spider.parse_bill(response_for(request), bill_no="9999"))
    assert of(BillItem, results) == []
    (problem,) = of(ProblemItem, results)
    assert problem.kind == "wrong-shape" and CIO_BILL in problem.message and problem.bill_no == "9999"


def test_an_empty_page_that_should_have_bills_is_a_problem(spider: TwLyBillsSpider) -> None:
    url = spider.list_url({"屆": 9}, 9)
    request = Request(
        url, callback=spider.parse_list, cb_kwargs={"query": {"屆": 9}, "page": 9, "full": True}
    )
    body = json.dumps({"total": 27, "total_page": 3, "page": 9, "bills": []}).encode()
    response = TextResponse(url=url, body=body, request=request, headers={"Content-Type": "application/json"})
    results = list(spider.parse_list(response, query={"屆": 9}, page=9, full=True))
    assert [p.kind for p in of(ProblemItem, results)] == ["empty-page"]
    assert of(scrapy.Request, results) == []


# --- the real engine, once (the shared crawl) -------------------------------------------------


@pytest.mark.slow
def test_real_crawl_keeps_provenance(crawled_db: Path, replay: ReplayServer) -> None:
    conn = sqlite3.connect(crawled_db)
    fetches = conn.execute("SELECT url, status, fetched_at, content_sha256, bytes FROM fetches").fetchall()
    assert len(fetches) >= 28 + 2  # every detail and both list queries
    for url, status, fetched_at, sha, size in fetches:
        assert url.startswith(replay.base_url) and status in {200, 404}
        assert re.fullmatch(r"[0-9a-f]{64}", sha) and size > 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fetched_at)
    bills = conn.execute("SELECT bill_no, source_url, fetched_at, content_sha256 FROM bills").fetchall()
    assert len(bills) == 28
    for bill_no, source_url, fetched_at, sha in bills:
        # the upstream record the replayed one stands for; the replay URL is the fetches row's
        assert source_url == f"https://ly.govapi.tw/v2/bills/{bill_no}"
        assert (f"{replay.base_url}/v2/bills/{bill_no}", sha) in {(u, h) for u, _, _, h, _ in fetches}
        assert fetched_at and re.fullmatch(r"[0-9a-f]{64}", sha)
    # the stored hash is the hash of the body the replay serves for that URL
    _, body, _ = fetch(f"{replay.base_url}/v2/bills/{CIO_BILL}")
    (stored,) = conn.execute("SELECT content_sha256 FROM bills WHERE bill_no = ?", [CIO_BILL]).fetchone()
    assert stored == hashlib.sha256(body).hexdigest()
    assert conn.execute(
        "SELECT count(*) FROM stages WHERE source_url = '' OR fetched_at IS NULL"
    ).fetchone() == (0,)


# --- list mode (TW_LY_LIST_FIELDS: whole records in the list, the BULK backfill) ----------------


@pytest.fixture(scope="module")
def list_spider(replay: ReplayServer) -> TwLyBillsSpider:
    return spider_for(replay.base_url, TW_LY_PAGE_LIMIT=10, TW_LY_LIST_FIELDS=WHOLE_RECORD_FIELDS)


def test_list_mode_asks_for_every_detail_field(list_spider: TwLyBillsSpider) -> None:
    _, params = decoded(list_spider.list_url({"屆": 9}, 1))
    assert params["output_fields"] == WHOLE_RECORD_FIELDS  # repeated keys, in order
    _, body, _ = fetch(f"{list_spider.base}/bills/{CIO_BILL}")
    assert set(json.loads(body)["data"]) <= set(WHOLE_RECORD_FIELDS)  # nothing of the detail left out


def test_list_mode_stores_list_entries_as_whole_records(list_spider: TwLyBillsSpider) -> None:
    url = list_spider.list_url({"屆": 9}, 1)
    results = run_callback(
        Request(url, callback=list_spider.parse_list, cb_kwargs={"query": {"屆": 9}, "page": 1, "full": True})
    )
    bills = of(BillItem, results)
    assert len(bills) == 10
    requested = [decoded(r.url)[0] for r in of(scrapy.Request, results)]
    assert not [p for p in requested if re.fullmatch(r"/v2/bills/\d+", p)]  # no detail request
    assert "/v2/bills" in requested  # the later pages
    for item in bills:  # the same record the detail serves, provenance the list page
        _, body, _ = fetch(f"{list_spider.base}/bills/{item.bill_no}")
        assert item.record == json.loads(body)["data"]
        # the page, named without its 25 output_fields (the fetches row keeps the exact URL)
        assert item.provenance.source_url == without_output_fields(url)
        page = {"屆": ["9"], "page": ["1"], "limit": ["10"]}
        assert decoded(item.provenance.source_url) == (decoded(url)[0], page)
        assert item.provenance.content_sha256 == hashlib.sha256(fetch(url)[1]).hexdigest()
    assert len({id(item.provenance) for item in bills}) == 1  # the page hashed once, not per bill


def test_list_mode_falls_back_to_details_when_the_api_ignores_output_fields(
    list_spider: TwLyBillsSpider,
) -> None:
    url = list_spider.list_url({"屆": 9}, 3)
    _, body, _ = fetch(url)
    ignored = {**json.loads(body), "output_fields": []}  # an API that does not honour the param
    ignored["bills"] = [{"議案編號": b["議案編號"]} for b in ignored["bills"]]
    request = Request(
        url, callback=list_spider.parse_list, cb_kwargs={"query": {"屆": 9}, "page": 3, "full": True}
    )
    response = TextResponse(
        url=url,
        body=json.dumps(ignored).encode(),
        request=request,
        headers={"Content-Type": "application/json"},
    )
    results = list(list_spider.parse_list(response, query={"屆": 9}, page=3, full=True))
    assert of(BillItem, results) == []
    details = [decoded(r.url)[0] for r in of(scrapy.Request, results)]
    assert details == [f"/v2/bills/{b['議案編號']}" for b in ignored["bills"]]


@pytest.mark.slow
def test_list_mode_crawl_stores_what_the_detail_crawl_stores(
    tmp_path: Path, replay: ReplayServer, crawled_db: Path
) -> None:
    """The real engine in list mode: the same bills, the same record hashes, the same stages,
    with a fraction of the requests; related bills no list carries are fetched by detail."""
    db_path = tmp_path / "list.db"
    extra = {"TW_LY_LIST_FIELDS": ",".join(WHOLE_RECORD_FIELDS)}
    result = run_crawl(db_path, replay.base_url, extra_settings=extra)
    assert result.returncode == 0, result.stderr[-3000:]
    listed, detailed = sqlite3.connect(db_path), sqlite3.connect(crawled_db)
    for sql in (
        "SELECT bill_no, record_sha256, current_stage, current_stage_on FROM bills ORDER BY bill_no",
        'SELECT bill_no, seq, stage, status_raw, "on" FROM stages ORDER BY bill_no, seq',
        "SELECT bill_no, role, seq, name FROM sponsors ORDER BY bill_no, role, seq",
    ):
        assert listed.execute(sql).fetchall() == detailed.execute(sql).fetchall()

    def details(conn: sqlite3.Connection) -> int:
        urls = [u for (u,) in conn.execute("SELECT url FROM fetches")]
        return len([u for u in urls if re.search(r"/v2/bills/\d+$", u)])

    # the related bills outside the lists (the detail crawl fetched every bill: 28 + outside ones)
    assert 0 < details(listed) < details(detailed) - 20
    from_list = listed.execute(
        "SELECT b.source_url, f.url FROM bills b JOIN fetches f USING (content_sha256) "
        "WHERE b.source_url LIKE '%/v2/bills?%'"
    ).fetchall()
    assert len(from_list) >= 20  # each list-page bill joins the exact request by its page's hash
    upstream = upstream_map(replay.base_url)
    assert all(b.startswith("https://ly.govapi.tw/v2/bills?") for b, _ in from_list)
    assert all(upstream_url(f, upstream).startswith(b) and "output_fields=" in f for b, f in from_list)


# --- the 10,000-result window (LYAPI answers 413 past it: scrapers/tw_ly/window.py) -------------


def window_crawl(tmp_path: Path, samples_dir: Path, corpus_dir: Path, spider_window: int) -> dict:
    """Crawl 屆=9 (3,607 bills of the corpus) against a replay whose window is 1,000 results."""
    from billtracker.replay.corpus import load_corpus
    from billtracker.replay.lyapi import Rules

    db_path = tmp_path / f"window-{spider_window}.db"
    with ReplayServer(samples_dir, corpus=load_corpus(corpus_dir), rules=Rules(window=1000)) as server:
        expected = {no for no, b in server.data.bills.items() if b.get("屆") == 9}
        settings = {
            "TW_LY_RESULT_WINDOW": str(spider_window),
            "TW_LY_LIST_FIELDS": ",".join(WHOLE_RECORD_FIELDS),
            "TW_LY_FOLLOW_RELATED": "False",
            "CONCURRENT_REQUESTS": "16",
            "BILLTRACKER_BATCH_ITEMS": "500",
        }
        result = run_crawl(db_path, server.base_url, queries=[{"屆": 9}], extra_settings=settings)
        requests = server.requests
    conn = sqlite3.connect(db_path)
    return {
        "result": result,
        "expected": expected,
        "stored": {r[0] for r in conn.execute("SELECT bill_no FROM bills")},
        "statuses": [r[0] for r in conn.execute("SELECT status FROM fetches")],
        "problems": [r[0] for r in conn.execute("SELECT kind FROM problems")],
        "requests": requests,
    }


@pytest.mark.slow
def test_a_query_larger_than_the_window_is_split_and_every_bill_stored(
    tmp_path: Path, samples_dir: Path, corpus_dir: Path
) -> None:
    blind = window_crawl(tmp_path, samples_dir, corpus_dir, spider_window=10**9)
    assert 413 in blind["statuses"] and len(blind["stored"]) == 1000  # before: paging into 413s
    split = window_crawl(tmp_path, samples_dir, corpus_dir, spider_window=1000)
    assert split["result"].returncode == 0, split["result"].stderr[-3000:]
    assert len(split["expected"]) > 3 * 1000
    assert split["stored"] == split["expected"]  # every bill, none from another term
    assert 413 not in split["statuses"]
    assert not [k for k in split["problems"] if k.startswith(("window-", "http-"))]
    aggs = [r for r in split["requests"] if "agg=" in r]
    assert aggs and all("limit=1" in r for r in aggs)  # planned from agg counts, not by paging


# --- the default scope: the current term and every organisational law --------------------------


@pytest.mark.slow
def test_the_default_scope_is_the_current_term_and_every_organisational_law(
    tmp_path: Path, replay: ReplayServer
) -> None:
    db_path = tmp_path / "scope.db"
    before = len(replay.requests)
    result = run_crawl(db_path, replay.base_url, queries=[])  # no queries: TW_LY_SCOPE
    assert result.returncode == 0, result.stderr[-3000:]
    requests = replay.requests[before:]
    assert any(r.startswith("/v2/laws?") for r in requests)  # organisational laws from the law list
    from scrapers import settings as defaults

    pattern = re.compile(defaults.TW_LY_SCOPE["law_name_pattern"])
    organisational = {
        code
        for code, law in replay.data.laws.items()
        if any(pattern.search(n) for n in [law.get("名稱", ""), *(law.get("其他名稱") or [])])
    }
    assert {"01010", "01011"} <= organisational and "04552" not in organisational  # 刑事訴訟法
    expected = {
        no
        for no, b in replay.data.bills.items()
        if b.get("屆") == 11 or organisational & set(b.get("法律編號") or [])
    }
    stored = {r[0] for r in sqlite3.connect(db_path).execute("SELECT bill_no FROM bills")}
    listed = {
        r[0]
        for r in sqlite3.connect(db_path).execute(
            "SELECT bill_no FROM bills WHERE source_url LIKE '%/v2/bills/%'"
        )
    }
    assert CIO_BILL in stored and expected <= stored
    # anything else stored came in as a 關連議案 of a bill in scope, never from a list
    others = stored - expected
    related = {str(r["議案編號"]) for no in expected for r in replay.data.bills[no].get("關連議案") or []}
    assert others <= related and listed


@pytest.mark.slow
def test_a_listing_that_is_not_newest_first_falls_back_loudly_to_a_full_pass(
    tmp_path: Path, samples_dir: Path, crawled_db: Path
) -> None:
    from billtracker.replay.lyapi import Rules

    db_path = tmp_path / "unsorted.db"
    db_path.write_bytes(crawled_db.read_bytes())  # everything stored: an incremental finds nothing new
    with ReplayServer(samples_dir, rules=Rules(default_sort=None)) as server:  # not newest first
        cmd_settings = {"TW_LY_PAGE_LIMIT": "5"}
        result = run_incremental(db_path, server.base_url, cmd_settings)
        requests = server.requests
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db_path)
    kinds = [r[0] for r in conn.execute("SELECT kind FROM problems WHERE kind = 'unsorted-listing'")]
    assert kinds  # recorded, not silent
    details = {r for r in requests if re.fullmatch(r"/v2/bills/\d+", r)}
    assert len(details) >= 27  # the full pass fetched every 9th-term bill again


def run_incremental(db_path: Path, base_url: str, settings: dict[str, str]) -> Any:
    import os
    import subprocess
    import sys

    from billtracker.jobs.spider_process import replay_settings
    from billtracker.paths import REPO_ROOT

    cmd = [sys.executable, "-m", "scrapy", "crawl", "tw_ly_bills", "-s", f"BILLTRACKER_DB={db_path}"]
    for key, value in {**replay_settings(base_url), **settings}.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += ["-a", "mode=incremental", "-a", 'queries=[{"屆": 9}]']
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    return subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
