"""Run records: one `scrape_runs` row per crawl attempt, and progress while a crawl runs.

The job runner (billtracker/jobs/run.py) creates the row before it starts the crawl subprocess and
passes its id (-s BILLTRACKER_RUN_ID=...), so a crawl that dies before Scrapy even starts still
leaves a row saying so; a plain `scrapy crawl` gets a row from the extension itself. The
RunRecorder extension logs progress every N seconds and every N items, keeps the row's counts
current, and writes the outcome when the spider closes. The runner then adds the exit code.

Issue 11: a run that lost anything is not ok. Every problem whose kind loses data (`loses_data`)
is a request whose answer the run did not obtain: the run is `partial`, `missed` counts those
requests, and each is kept in `missed_requests` with what re-issues it, so the job runner's next
attempt (`-a retry_of=RUN_ID`) fetches only those and says how many it `recovered`.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from typing import Any

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task

from pipelines.schema import open_db
from pipelines.store.interrupted import mark_interrupted
from scrapers.clock import utc_now
from scrapers.commands.crawl import MISSED_STAT, RUN_STATUS_STAT
from scrapers.items import BillItem, FetchItem, ProblemItem
from scrapers.missed import MISSED_ID, request_record

logger = logging.getLogger(__name__)


STATUSES = ("running", "ok", "partial", "failed", "empty", "interrupted")

# Problem kinds that mean data the source has was not obtained: the answer to a request was lost.
# A closed set: a kind not named here (or an HTTP status in ABSENT_HTTP) loses nothing.
LOSS_KINDS = frozenset(
    {
        "network",  # refused, reset, timed out, cancelled (too large), after the retries
        "malformed-json",  # not the JSON it should be
        "bad-encoding",  # not UTF-8
        "empty-body",  # nothing at all
        "wrong-shape",  # JSON, but not the record or list it should be (or one entry of it)
        "empty-page",  # a page that must have rows has none
        "block-page",  # a WAF, captcha or error page with status 200, after the retries
        "short-page",  # a ppg detail page too short to be a bill page
        "unknown-layout",  # a ppg detail page in a layout the parser does not know
        "item-error",  # obtained, then a pipeline failed on it: not stored
        "unretriable",  # a missed request that could not be re-issued
        # bills LYAPI's 10,000-result window hides from every split (scrapers/tw_ly/window.py)
        "window-unsplittable",
        "window-split-gap",
        "backfill-grew-past-window",  # a backfill leaf outgrew the window since it was planned
    }
)
# Any http-NNN loses the page (413 too large, 429/5xx after the retries, 403 blocked, ...) except
# these, which answer "no such record": nothing exists to lose.
ABSENT_HTTP = frozenset({404, 410})
# Spider-side kinds that lose nothing, named so the set stays closed (tests/test_history.py
# checks every kind a spider can report is in one set or the other): api-error is LYAPI's own
# {"error": true} (找不到資料 for an unknown bill), placeholder-page is 此筆資料尚未建置 (the source
# has not built the record yet), not-names flags a dataset-20 row that is still stored.
# unsorted-listing: the incremental listing was not newest first; its query is crawled as a full
# pass instead, so nothing is missed.
KEPT_KINDS = frozenset(
    {"api-error", "placeholder-page", "not-names", "http-404", "http-410", "unsorted-listing"}
)
_HTTP = re.compile(r"http-(\d{3})")


def loses_data(kind: str) -> bool:
    """True when a problem of this kind means the run did not obtain data the source has.

    Data-quality problems the store records (unknown-stage, doubtful-date, ...) lose nothing:
    the record is stored with them."""
    status = _HTTP.fullmatch(kind)
    if status:
        return int(status.group(1)) not in ABSENT_HTTP
    return kind in LOSS_KINDS


def start_run(
    db: sqlite_utils.Database, spider: str, mode: str, job: str, attempt: int, pid: int | None
) -> int:
    return int(
        db["scrape_runs"]
        .insert(
            {
                "spider": spider,
                "mode": mode,
                "job": job,
                "attempt": attempt,
                "started_at": utc_now(),
                "status": "running",
                "requests": 0,
                "items": 0,
                "problems": 0,
                "missed": 0,
                "flagged": 0,
                "pid": pid,
            },
            pk="id",
        )
        .last_pk
    )


def outcome(
    reason: str,
    data_items: int,
    problems: int,
    incremental: bool = False,
    missed: int = 0,
    retrying: bool = False,
) -> tuple[str, str]:
    """(status, why) from Scrapy's close reason, how many data items (bills, laws, law texts:
    not fetch logs or problems) the crawl produced and how many requests it lost (`missed`).

    Zero data from a finished full crawl is `empty`, not `ok`: a source that answers with
    nothing (a block page on every list, a changed API) must not look like a quiet day. An
    incremental refresh that found nothing new is ok when it read its list without problems.
    Data, but some requests lost, is `partial`: never ok with data missing. A retry of missed
    requests (`retrying`) is judged only by what it lost again: it has no list to find empty."""
    if reason == "shutdown":
        return "interrupted", "stopped before it finished (signal or shutdown)"
    if reason != "finished":
        return "failed", f"spider closed: {reason}"
    if data_items == 0 and not retrying and (not incremental or problems):
        return "empty", f"finished without a single data item ({problems} problems)"
    if missed:
        return "partial", f"{missed} request{'s' if missed != 1 else ''} missed: their data was not obtained"
    return "ok", ""


def finish_run(db: sqlite_utils.Database, run_id: int, exit_code: int) -> dict[str, Any]:
    """Add the process's exit code; a crawl that never reached spider_closed is `failed`."""
    row = db["scrape_runs"].get(run_id)
    update: dict[str, Any] = {"exit_code": exit_code}
    if row["status"] == "running":
        update |= {
            "status": "failed",
            "ended_at": utc_now(),
            "error": f"crawl process exited with code {exit_code} before the spider closed",
        }
    elif exit_code != 0 and row["status"] == "ok":
        update |= {"status": "failed", "error": f"crawl process exited with code {exit_code}"}
    db["scrape_runs"].update(run_id, update)
    return db["scrape_runs"].get(run_id)


class RunRecorder:
    """Scrapy extension: the scrape_runs row of this crawl and progress lines while it runs."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.db_path = settings.get("BILLTRACKER_DB")
        self.run_id = settings.getint("BILLTRACKER_RUN_ID")
        self.every_seconds = settings.getfloat("BILLTRACKER_PROGRESS_SECONDS")
        self.every_items = settings.getint("BILLTRACKER_PROGRESS_ITEMS")
        self.bills = 0
        self.data_items = 0
        self.problems = 0
        self.items = 0
        # Issue 11: the requests this run lost, by identity (first problem kept), and of the
        # requests it re-issued for run `retry_of`, the missed_requests ids that got an answer.
        self.missed: dict[tuple[str, ...], dict[str, Any]] = {}
        self.answered: set[int] = set()
        self.retry_of = 0
        self.db: sqlite_utils.Database | None = None
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def spider_opened(self, spider: Any) -> None:
        import os

        self.db = open_db(self.db_path)
        mark_interrupted(self.db, self.run_id)  # issue 6: earlier runs killed without closing
        mode = getattr(spider, "mode", "full")
        self.retry_of = int(getattr(spider, "retry_of", 0) or 0)
        if not self.run_id:
            self.run_id = start_run(self.db, spider.name, mode, "cli", 1, None)
        self.db["scrape_runs"].update(
            self.run_id, {"pid": os.getpid(), "mode": mode, "retry_of": self.retry_of or None}
        )
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("billtracker/run_id", self.run_id)
        logger.info("run %d: %s (%s) -> %s", self.run_id, spider.name, mode, self.db_path)
        if self.every_seconds > 0:
            self.loop = task.LoopingCall(self.progress)
            self.loop.start(self.every_seconds, now=False)

    def item_scraped(self, item: Any, spider: Any) -> None:
        self.items += 1
        if isinstance(item, ProblemItem):
            self.problems += 1
            if loses_data(item.kind):
                self.lose(item.kind, item.message, item.url, item.request)
        elif not isinstance(item, FetchItem):
            self.data_items += 1
            self.bills += isinstance(item, BillItem)
        if self.every_items and self.items % self.every_items == 0:
            self.progress()

    def item_error(self, item: Any, response: Any, spider: Any, failure: Any) -> None:
        """A pipeline raised on an item: its data was obtained and then not stored."""
        request = request_record(getattr(response, "request", None))
        self.lose("item-error", failure.getErrorMessage(), getattr(response, "url", ""), request)

    def response_received(self, response: Any, request: Any, spider: Any) -> None:
        missed_id = request.meta.get(MISSED_ID)
        if missed_id is not None:
            self.answered.add(int(missed_id))

    def lose(self, kind: str, message: str, url: str, request: dict[str, Any] | None) -> None:
        """One request whose data this run did not obtain; several problems of one count once."""
        record = request or {"url": url}
        kwargs = json.dumps(record.get("cb_kwargs") or {}, ensure_ascii=False, sort_keys=True, default=str)
        key = (str(record.get("method") or ""), str(record["url"]), str(record.get("callback") or ""), kwargs)
        self.missed.setdefault(key, {**record, "cb_kwargs": kwargs, "kind": kind, "message": message})

    def record_missed(self, spider: str) -> int:
        """Write what this run lost, and what it recovered of run `retry_of`; returns recovered."""
        assert self.db is not None
        now = utc_now()
        lost_again = {int(m["missed_id"]) for m in self.missed.values() if m.get("missed_id") is not None}
        with self.db.conn:
            self.db["missed_requests"].insert_all(
                (
                    {
                        "run_id": self.run_id,
                        "spider": spider,
                        "url": m["url"],
                        "method": m.get("method") or "GET",
                        "callback": m.get("callback") or "",
                        "cb_kwargs": m["cb_kwargs"],
                        "meta": json.dumps(m.get("meta") or {}, ensure_ascii=False, default=str),
                        "kind": m["kind"],
                        "message": m["message"],
                        "recorded_at": now,
                    }
                    for m in self.missed.values()
                ),
                pk="id",
            )
            recovered = self.answered - lost_again
            self.db.conn.executemany(
                "update missed_requests set retried_by_run = ?, recovered = ? where id = ?",
                [(self.run_id, int(i in recovered), i) for i in sorted(self.answered | lost_again)],
            )
        return len(recovered)

    def requests(self) -> int:
        assert self.crawler.stats is not None
        return int(self.crawler.stats.get_value("downloader/request_count", 0))

    def progress(self) -> None:
        """One line a person watching the crawl can read, and the row kept current."""
        requests = self.requests()
        logger.info(
            "progress: %d items (%d bills), %d requests, %d problems, %d missed",
            self.items,
            self.bills,
            requests,
            self.problems,
            len(self.missed),
        )
        if self.db is not None and self.run_id:
            # Issue 6: with the BULK profile the store holds a batch's write transaction open in
            # this same thread, so waiting for the lock would only deadlock for busy_timeout.
            # Progress is best-effort: skip it then; spider_closed writes the final counts.
            self.db.execute("PRAGMA busy_timeout = 0")
            try:
                counts = {"requests": requests, "items": self.items, "problems": self.problems}
                self.db["scrape_runs"].update(self.run_id, counts | {"missed": len(self.missed)})
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
            finally:
                self.db.execute("PRAGMA busy_timeout = 10000")

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        stats = self.crawler.stats
        assert stats is not None and self.db is not None
        counts = {
            k: int(stats.get_value(f"billtracker/{k}", 0) or 0)
            for k in ("inserted", "updated", "noop", "problems")
        }
        problems = max(counts["problems"], self.problems)
        recovered = self.record_missed(spider.name)
        missed = len(self.missed)
        status, why = outcome(
            reason,
            self.data_items,
            problems,
            getattr(spider, "mode", "") == "incremental",
            missed,
            retrying=bool(self.retry_of),
        )
        if status == "partial":
            kinds = sorted({m["kind"] for m in self.missed.values()})
            why = f"{why} ({', '.join(kinds)}); fetch them again with -a retry_of={self.run_id}"
        stats.set_value(RUN_STATUS_STAT, status)
        stats.set_value(MISSED_STAT, missed)
        row = {
            "ended_at": utc_now(),
            "status": status,
            "finish_reason": reason,
            "requests": self.requests(),
            "items": self.items,
            "inserts": counts["inserted"],
            "updates": counts["updated"],
            "noops": counts["noop"],
            "problems": problems,
            "missed": missed,
            "recovered": recovered if self.retry_of else None,
            "error": why or None,
        }
        self.db["scrape_runs"].update(self.run_id, row)
        log = logger.info if status == "ok" else logger.error
        log(
            "run %d %s: %d requests, %d items; bills %d inserted, %d updated, %d unchanged; %d problems; "
            "%d missed%s%s",
            self.run_id,
            status,
            row["requests"],
            row["items"],
            row["inserts"],
            row["updates"],
            row["noops"],
            problems,
            missed,
            f"; {recovered} recovered of run {self.retry_of}" if self.retry_of else "",
            f" ({why})" if why else "",
        )
        self.db.close()
