"""One scheduled crawl: a scrape_runs row, the crawl in its own process, retries with backoff.

A failed or empty run is retried (backoff doubling from `backoff_seconds`); when the attempts are
used up the last row is flagged (`flagged = 1`) so the `health` query and the log say so loudly.

A `partial` run (issue 11: it lost some requests) is not ok either, but what it did obtain is
stored: the next attempt fetches only what it missed (`-a retry_of=RUN_ID`), and ends ok when it
recovers all of it. A failed retry is retried against the same partial run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.schema import open_db
from pipelines.store.runs import finish_run, start_run

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 60.0
    max_backoff_seconds: float = 900.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)


@dataclass(frozen=True)
class Job:
    """A crawl the scheduler runs: which spider, full or incremental, which queries, when."""

    id: str
    spider: str = "tw_ly_bills"
    mode: str = "full"
    queries: list[dict[str, Any]] | None = None
    cron: dict[str, str] = field(default_factory=dict)
    run_at_start: bool = False

    def spider_args(self) -> dict[str, str]:
        args = {"mode": self.mode}
        if self.queries and self.spider == "tw_ly_bills":
            args["queries"] = json.dumps(self.queries, ensure_ascii=False)
        return args


def run_job(
    job: Job,
    db_path: str | Path,
    settings: dict[str, str],
    retry: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Run the job's crawl until a run is ok or the attempts are used up; returns the last row."""
    from billtracker.jobs.spider_process import run_spider

    db_path = str(Path(db_path).resolve())  # the crawl runs with the repository as its cwd
    row: dict[str, Any] = {}
    retry_of = 0  # the last partial run: what the next attempt fetches again
    for attempt in range(1, retry.attempts + 1):
        db = open_db(db_path)
        run_id = start_run(db, job.spider, job.mode, job.id, attempt, None)
        db.close()
        args = job.spider_args() | ({"retry_of": str(retry_of)} if retry_of else {})
        again = f" (retry of run {retry_of})" if retry_of else ""
        logger.info("job %s: attempt %d, run %d%s", job.id, attempt, run_id, again)
        code = run_spider(job.spider, db_path, {**settings, "BILLTRACKER_RUN_ID": str(run_id)}, args)
        db = open_db(db_path)
        row = finish_run(db, run_id, code)
        if row["status"] == "ok":
            db.close()
            return row
        if row["status"] == "partial":
            retry_of = run_id
        if attempt == retry.attempts:
            db["scrape_runs"].update(run_id, {"flagged": 1})
            row = db["scrape_runs"].get(run_id)
            db.close()
            logger.error(
                "job %s FLAGGED: %d attempts, last run %d %s: %s",
                job.id,
                attempt,
                run_id,
                row["status"],
                row["error"],
            )
            return row
        db.close()
        delay = retry.delay(attempt)
        logger.warning(
            "job %s: run %d %s (%s); retrying in %.0f s", job.id, run_id, row["status"], row["error"], delay
        )
        sleep(delay)
    return row
