"""Run records: one `scrape_runs` row per crawl attempt, and progress while a crawl runs.

The job runner (billtracker/jobs.py) creates the row before it starts the crawl subprocess and
passes its id (-s BILLTRACKER_RUN_ID=...), so a crawl that dies before Scrapy even starts still
leaves a row saying so; a plain `scrapy crawl` gets a row from the extension itself. The
RunRecorder extension logs progress every N seconds and every N items, keeps the row's counts
current, and writes the outcome when the spider closes. The runner then adds the exit code.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet import task

from pipelines.schema import open_db
from scrapers.items import BillItem, FetchItem, ProblemItem
from scrapers.tw_ly.responses import utc_now

logger = logging.getLogger(__name__)

STATUSES = ("running", "ok", "failed", "empty", "interrupted")


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
                "flagged": 0,
                "pid": pid,
            },
            pk="id",
        )
        .last_pk
    )


def outcome(reason: str, data_items: int, problems: int, incremental: bool = False) -> tuple[str, str]:
    """(status, why) from Scrapy's close reason and how many data items (bills, laws, law
    texts: not fetch logs or problems) the crawl produced.

    Zero data from a finished full crawl is `empty`, not `ok`: a source that answers with
    nothing (a block page on every list, a changed API) must not look like a quiet day. An
    incremental refresh that found nothing new is ok when it read its list without problems."""
    if reason == "shutdown":
        return "interrupted", "stopped before it finished (signal or shutdown)"
    if reason != "finished":
        return "failed", f"spider closed: {reason}"
    if data_items == 0 and (not incremental or problems):
        return "empty", f"finished without a single data item ({problems} problems)"
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
        self.run_id = settings.getint("BILLTRACKER_RUN_ID", 0)
        self.every_seconds = settings.getfloat("BILLTRACKER_PROGRESS_SECONDS", 10.0)
        self.every_items = settings.getint("BILLTRACKER_PROGRESS_ITEMS", 100)
        self.bills = 0
        self.data_items = 0
        self.problems = 0
        self.items = 0
        self.db: sqlite_utils.Database | None = None
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.item_scraped, signal=signals.item_scraped)
        return ext

    def spider_opened(self, spider: Any) -> None:
        import os

        self.db = open_db(self.db_path)
        mode = getattr(spider, "mode", "full")
        if self.run_id:
            self.db["scrape_runs"].update(self.run_id, {"pid": os.getpid(), "mode": mode})
        else:
            self.run_id = start_run(self.db, spider.name, mode, "cli", 1, os.getpid())
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
        elif not isinstance(item, FetchItem):
            self.data_items += 1
            self.bills += isinstance(item, BillItem)
        if self.every_items and self.items % self.every_items == 0:
            self.progress()

    def requests(self) -> int:
        assert self.crawler.stats is not None
        return int(self.crawler.stats.get_value("downloader/request_count", 0))

    def progress(self) -> None:
        """One line a person watching the crawl can read, and the row kept current."""
        requests = self.requests()
        logger.info(
            "progress: %d items (%d bills), %d requests, %d problems",
            self.items,
            self.bills,
            requests,
            self.problems,
        )
        if self.db is not None and self.run_id:
            self.db["scrape_runs"].update(
                self.run_id, {"requests": requests, "items": self.items, "problems": self.problems}
            )

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
        status, why = outcome(reason, self.data_items, problems, getattr(spider, "mode", "") == "incremental")
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
            "error": why or None,
        }
        self.db["scrape_runs"].update(self.run_id, row)
        log = logger.info if status == "ok" else logger.error
        log(
            "run %d %s: %d requests, %d items; bills %d inserted, %d updated, %d unchanged; %d problems%s",
            self.run_id,
            status,
            row["requests"],
            row["items"],
            row["inserts"],
            row["updates"],
            row["noops"],
            problems,
            f" ({why})" if why else "",
        )
        self.db.close()
