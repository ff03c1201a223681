"""Runs that died without closing (kill -9, OOM, power cut) are recorded as `interrupted`.

A crawl killed with SIGKILL never reaches spider_closed, so its scrape_runs row would say
`running` forever. The next crawl on the same database checks every `running` row: if its
process is gone, the row becomes `interrupted`, naming the pid and when it was noticed.
(Under billtracker's job runner the runner also records the exit code; a bare `scrapy crawl`
has no runner, hence this.)
"""

from __future__ import annotations

import os

import sqlite_utils

from scrapers.clock import utc_now


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def mark_interrupted(db: sqlite_utils.Database, own_run_id: int | None = None) -> list[int]:
    """Mark `running` rows whose process is gone as interrupted; returns their ids."""
    if "scrape_runs" not in db.table_names():
        return []
    gone = [
        row
        for row in db["scrape_runs"].rows_where("status = 'running'")
        if row["id"] != own_run_id and not alive(row.get("pid"))
    ]
    now = utc_now()
    for row in gone:
        db["scrape_runs"].update(
            row["id"],
            {
                "status": "interrupted",
                "ended_at": row.get("ended_at") or now,
                "error": f"process {row.get('pid')} ended without closing the run (killed?); noticed {now}",
            },
        )
    return [row["id"] for row in gone]
