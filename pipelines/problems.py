"""The one way a problem row is written, whichever pipeline found it.

The same problem seen again (every daily run of a broken source) is one row, counted in `times`
with `last_seen_at`, so re-running an unchanged crawl leaves the table as it was. Plain sqlite3
(pipelines/rawsql.py): a backfill records one for every bill without a 議案流程.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from pipelines.normalise import to_json
from pipelines.rawsql import atomic, insert
from scrapers.tw_ly.responses import utc_now


def record_problem(
    db: sqlite_utils.Database,
    spider: str,
    kind: str,
    message: str,
    url: str,
    bill_no: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    now = utc_now()
    conn = db.conn
    # A transaction of its own when the caller has none open (committed, as sqlite-utils' writes
    # were: SourcePipeline relies on it), else a savepoint inside the caller's.
    with atomic(conn):
        seen = conn.execute(
            "SELECT id, times FROM problems"
            " WHERE spider = ? AND kind = ? AND message = ? AND url = ? AND bill_no IS ?",
            [spider, kind, message, url, bill_no],
        ).fetchone()
        if seen is not None:
            conn.execute(
                "UPDATE problems SET last_seen_at = ?, times = ? WHERE id = ?",
                [now, (seen[1] or 1) + 1, seen[0]],
            )
            return
        row = {
            "recorded_at": now,
            "spider": spider,
            "kind": kind,
            "message": message,
            "url": url,
            "bill_no": bill_no,
            "detail": to_json(detail or {}),
            "last_seen_at": now,
            "times": 1,
        }
        insert(conn, "problems", [row])
