"""Issue 11: a run that lost anything is not ok (pipelines/store/runs.py, the job runner, `retry_of`).

Real crawls (`scrapy crawl` in a subprocess, the job runner) against the replay, whose overlay
answers 413, 429 or 500 where the live API did; real SQLite files; health and runs_feed read
through an in-process Datasette.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import feedparser
import pytest
import sqlite_utils

from billtracker.jobs.run import Job, RetryPolicy, run_job
from billtracker.jobs.spider_process import replay_settings
from billtracker.jobs.spiders import replay_queries
from billtracker.paths import REPO_ROOT
from billtracker.replay import ReplayServer
from billtracker.serve.datasette import datasette_app
from pipelines.store.runs import KEPT_KINDS, LOSS_KINDS, loses_data, outcome
from scrapers.health import bad_body
from tests.conftest import CIO_BILL, TODAY, run_crawl

TERM9 = [{"屆": 9}]
CIO_DETAIL = f"/v2/bills/{CIO_BILL}"
JOB = Job("nightly-full", queries=replay_queries())
FAST = {"RETRY_TIMES": "1", "BACKOFF_BASE_SECONDS": "0.05"}  # give up after one retry, quickly


# --- which problems lose data: a closed set, both sides ------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["http-413", "http-429", "http-500", "http-503", "http-403", "network", "malformed-json", "bad-encoding",
     "empty-body", "wrong-shape", "empty-page", "block-page", "short-page", "unknown-layout", "item-error"],
)  # fmt: skip
def test_kinds_that_lose_data(kind: str) -> None:
    assert loses_data(kind)


@pytest.mark.parametrize(
    "kind",
    # the source's own "no such record", and data-quality problems the store records with the data
    ["http-404", "http-410", "api-error", "placeholder-page", "not-names", "unknown-stage", "doubtful-date",
     "no-stage-flow", "corpus-gap", "http-4130", "http-"],
)  # fmt: skip
def test_kinds_that_lose_nothing(kind: str) -> None:
    assert not loses_data(kind)


def spider_problem_kinds() -> set[str]:
    """Every literal problem kind a spider can report (scrapers/), read from the source."""
    kinds: set[str] = set()
    for path in (REPO_ROOT / "scrapers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        kinds |= set(re.findall(r"problem\(\s*response,\s*\"([a-z0-9-]+)\"", text))
        kinds |= set(re.findall(r"BadBody\(\s*\"([a-z0-9-]+)\"", text))
        kinds |= set(re.findall(r"ProblemItem\(\s*kind=\"([a-z0-9-]+)\"", text))
    samples = [b"", "此筆資料尚未建置".encode(), b"<html>captcha</html>", b"<html>x</html>"]
    kinds |= {k for k in (bad_body(body, 9000) for body in samples) if k}
    return kinds


def test_every_spider_problem_kind_is_decided() -> None:
    """A new kind must be put on one side on purpose: the set stays closed."""
    kinds = spider_problem_kinds()
    assert {"wrong-shape", "empty-page", "malformed-json", "not-names", "api-error", "short-page"} <= kinds
    assert kinds - LOSS_KINDS - KEPT_KINDS == set()
    assert not LOSS_KINDS & KEPT_KINDS


@pytest.mark.parametrize(
    ("args", "kwargs", "status"),
    [
        (("finished", 30, 2), {"missed": 1}, "partial"),  # data, but a request lost: never ok
        (("finished", 30, 2), {"missed": 0}, "ok"),  # problems that lose nothing
        (("finished", 0, 3), {"missed": 3}, "empty"),  # lost everything: empty as before
        (("finished", 0, 0), {"retrying": True}, "ok"),  # a retry that lost nothing again
        (("finished", 0, 1), {"missed": 1, "retrying": True}, "partial"),
        (("shutdown", 30, 0), {"missed": 1}, "interrupted"),
        (("closespider_errorcount", 30, 0), {"missed": 1}, "failed"),
    ],
)
def test_outcome_with_missed(args: tuple, kwargs: dict, status: str) -> None:
    found, why = outcome(*args, **kwargs)
    assert found == status
    if status == "partial":
        assert "1 request missed" in why


# --- the measured case in miniature: HTTP 413 for list page 2 -------------------------------------


def list_page(path_qs: str) -> int | None:
    """The page number of a bill list request, None for anything else."""
    split = urlsplit(path_qs)
    if split.path != "/v2/bills":
        return None
    return int(dict(parse_qsl(split.query)).get("page", "1"))


def fetch_list(base_url: str, page: int) -> list[dict]:
    """Page `page` of 屆=9 at 10 a page, as the spider asks for it."""
    import urllib.request
    from urllib.parse import quote

    url = f"{base_url}/v2/bills?{quote('屆')}=9&page={page}&limit=10"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["bills"]


@pytest.mark.slow
def test_413_on_a_list_page_is_partial_never_ok(tmp_path: Path, samples_dir: Path) -> None:
    """Live: 6,118 of 16,118 bills lost to 413 and the run ended ok, exit 0. Not any more."""

    def too_large(path_qs: str) -> tuple | None:
        if list_page(path_qs) == 2:
            return 413, b'{"error": true, "message": "too large"}', {"Content-Type": "application/json"}
        return None

    db_path = tmp_path / "413.db"
    with ReplayServer(samples_dir=samples_dir, overlay=too_large) as server:
        result = run_crawl(db_path, server.base_url, queries=TERM9, extra_settings={"TW_LY_PAGE_LIMIT": "10"})
    assert result.returncode == 1, result.stderr[-3000:]
    assert "crawl partial: run 1 missed 1 request(s)" in result.stdout
    db = sqlite_utils.Database(db_path)
    [run] = db["scrape_runs"].rows
    assert (run["status"], run["missed"]) == ("partial", 1)
    assert "http-413" in run["error"] and "retry_of=1" in run["error"]
    # Pages 1 and 3 were stored (every page of a query that fits is asked for at once): partial
    # keeps what it got, and of page 2 only what another bill's 關連議案 brought in.
    with ReplayServer(samples_dir=samples_dir) as clean:
        pages = {n: {b["議案編號"] for b in fetch_list(clean.base_url, n)} for n in (1, 2, 3)}
    stored = {r["bill_no"] for r in db["bills"].rows}
    assert pages[1] | pages[3] <= stored and pages[2] - stored
    [missed] = db["missed_requests"].rows
    assert (missed["run_id"], missed["kind"], missed["callback"]) == (1, "http-413", "parse_list")
    assert json.loads(missed["cb_kwargs"]) == {"page": 2, "query": {"屆": 9}, "full": True}
    assert list_page(urlsplit(missed["url"]).path + "?" + urlsplit(missed["url"]).query) == 2


@pytest.mark.slow
def test_problems_that_lose_nothing_leave_the_run_ok(crawled_db: Path) -> None:
    """The replay crawl has 404s (related bills outside the samples), doubted dates and a bill
    without a 議案流程: recorded, and the run is still ok with nothing missed."""
    db = sqlite_utils.Database(crawled_db)
    kinds = {r["kind"] for r in db["problems"].rows}
    assert {"http-404", "doubtful-date", "no-stage-flow"} <= kinds
    [run] = db["scrape_runs"].rows
    assert (run["status"], run["missed"], run["exit_code"]) == ("ok", 0, None)
    assert db["missed_requests"].count == 0


# --- a scheduled retry of what was missed ---------------------------------------------------------


class FailsFirst:
    """An overlay: `status` for the first `times` requests of one path, then the replay's answer."""

    def __init__(self, path: str, status: int, times: int) -> None:
        self.path, self.status, self.times = path, status, times
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, path_qs: str) -> tuple | None:
        if path_qs != self.path:
            return None
        with self.lock:
            self.calls += 1
            if self.calls > self.times:
                return None
        return self.status, b'{"error": true, "message": "slow down"}', {"Content-Type": "application/json"}


def job_settings(base_url: str) -> dict[str, str]:
    return {**replay_settings(base_url), "BILLTRACKER_TODAY": TODAY, **FAST}


@pytest.mark.slow
def test_given_up_429_is_partial_then_the_retry_fetches_only_it(
    tmp_path: Path, samples_dir: Path, crawled_db: Path
) -> None:
    """Live: 16 of 602 bills dropped after five 429s and the run ended ok. Now the run is partial
    and the job's next attempt fetches only that bill (and what it leads to), and ends ok."""
    overlay = FailsFirst(CIO_DETAIL, 429, times=2)  # the first try and its one retry
    db_path = tmp_path / "429.db"
    sleeps: list[float] = []
    with ReplayServer(samples_dir=samples_dir, overlay=overlay) as server:
        seen: list[int] = []
        settings = job_settings(server.base_url)

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            seen.append(len(server.requests))

        last = run_job(JOB, db_path, settings, RetryPolicy(attempts=3), sleep=sleep)
        retry_requests = server.requests[seen[0] :]
    first, second = sqlite_utils.Database(db_path)["scrape_runs"].rows_where(order_by="id")
    assert (first["status"], first["missed"], first["flagged"]) == ("partial", 1, 0)
    assert first["exit_code"] != 0
    assert (second["status"], second["retry_of"], second["recovered"]) == ("ok", first["id"], 1)
    assert second["missed"] == 0
    assert last["id"] == second["id"] and len(sleeps) == 1
    db = sqlite_utils.Database(db_path)
    laws = {f"/v2/laws/{r['law_code']}" for r in db["bill_laws"].rows_where("bill_no = ?", [CIO_BILL])}
    assert set(retry_requests) - {"/robots.txt"} == {CIO_DETAIL} | laws  # no list page, no other bill
    assert retry_requests.count(CIO_DETAIL) == 1
    [missed] = db["missed_requests"].rows
    assert (missed["kind"], missed["retried_by_run"], missed["recovered"]) == ("http-429", second["id"], 1)
    with sqlite3.connect(crawled_db) as clean:
        every_bill = {r[0] for r in clean.execute("select bill_no from bills")}
    assert {r["bill_no"] for r in db["bills"].rows} == every_bill


@pytest.fixture(scope="module")
def never_recovers(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Path:
    """A clean ok run, then a job whose bill detail answers 500 every time: two partial attempts."""
    db_path = tmp_path_factory.mktemp("runs") / "billtracker.db"  # the name Datasette serves
    with ReplayServer(samples_dir=samples_dir) as server:
        assert run_job(JOB, db_path, job_settings(server.base_url))["status"] == "ok"
    overlay = FailsFirst(CIO_DETAIL, 500, times=10**6)
    with ReplayServer(samples_dir=samples_dir, overlay=overlay) as server:
        retry = RetryPolicy(attempts=2, backoff_seconds=0)
        last = run_job(JOB, db_path, job_settings(server.base_url), retry, sleep=lambda _: None)
    assert last["status"] == "partial"
    return db_path


@pytest.mark.slow
def test_a_retry_that_recovers_nothing_is_flagged(never_recovers: Path) -> None:
    db = sqlite_utils.Database(never_recovers)
    runs = list(db["scrape_runs"].rows_where(order_by="id"))
    assert [(r["status"], r["missed"], r["retry_of"], r["recovered"], r["flagged"]) for r in runs] == [
        ("ok", 0, None, None, 0),
        ("partial", 1, None, None, 0),
        ("partial", 1, runs[1]["id"], 0, 1),
    ]
    rows = list(db["missed_requests"].rows_where(order_by="id"))
    assert [(r["run_id"], r["kind"], r["retried_by_run"], r["recovered"]) for r in rows] == [
        (runs[1]["id"], "http-500", runs[2]["id"], 0),
        (runs[2]["id"], "http-500", None, None),  # lost again: what a later retry would fetch
    ]


def get(db_path: Path, path: str) -> Any:
    async def go() -> Any:
        return await datasette_app(db_path).client.get(path)

    response = asyncio.run(go())
    assert response.status_code == 200, response.text[:500]
    return response


@pytest.mark.slow
def test_health_shows_a_partial_run_never_as_ok(never_recovers: Path) -> None:
    [health] = get(never_recovers, "/billtracker/health.json?_shape=array").json()
    runs = list(sqlite_utils.Database(never_recovers)["scrape_runs"].rows_where(order_by="id"))
    assert health["last_ok_run"] == runs[0]["id"]  # the partial runs are not good runs
    assert (health["last_run"], health["last_status"], health["last_missed"]) == (runs[2]["id"], "partial", 1)
    assert (health["partial_since_ok"], health["flagged_since_ok"], health["failures_since_ok"]) == (2, 1, 0)
    assert "1 request missed" in health["last_error"]


@pytest.mark.slow
def test_runs_feed_lists_the_partial_runs(never_recovers: Path) -> None:
    response = get(never_recovers, "/billtracker/runs_feed.atom")
    assert response.headers["cache-control"] == "no-store"
    feed = feedparser.parse(response.text)
    assert not feed.bozo, feed.bozo_exception
    runs = list(sqlite_utils.Database(never_recovers)["scrape_runs"].rows_where(order_by="id desc"))
    assert [e.id for e in feed.entries] == [f"tag:billtracker,2016:run/{r['id']}" for r in runs[:2]]
    newest = feed.entries[0]
    assert newest.title == f"【未完成】tw_ly_bills run {runs[0]['id']}: partial, 1 request missed"
    assert "flagged" in newest.summary and f"retry of run {runs[1]['id']}: 0 recovered" in newest.summary


@pytest.mark.slow
def test_runs_feed_without_a_bad_run_is_an_empty_feed(crawled_db: Path) -> None:
    feed = feedparser.parse(get(crawled_db, "/billtracker/runs_feed.atom").text)
    assert not feed.bozo and feed.version == "atom10"
    assert feed.entries == []
