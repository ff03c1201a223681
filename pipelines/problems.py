"""The one way a problem row is written, whichever pipeline found it.

The same problem seen again (every daily run of a broken source) is one row, counted in `times`
with `last_seen_at`, so re-running an unchanged crawl leaves the table as it was. Plain sqlite3
(pipelines/rawsql.py): a backfill records one for every bill without a 議案流程.

"The same problem" is keyed without the origin (scheme://host:port) of its URL or of any URL in
its message: the replay serves each run on a new port, and a mirror or a moved host is the same
failure of the same record (issue 10: every replay run added its problems again).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import sqlite_utils

from pipelines.normalise.bill_record import to_json
from pipelines.rawsql import atomic, insert
from scrapers.clock import utc_now

_ORIGIN = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s'\"?#]+")


def without_origin(text: str | None) -> str:
    """'http://127.0.0.1:45373/v2/bills/1' -> '/v2/bills/1', wherever a URL sits in the text."""
    return _ORIGIN.sub("", text or "")


def problem_key(spider: str, kind: str, message: str, url: str, bill_no: str | None) -> str:
    """The identity of a problem: what failed, where (the URL's path and query), for which bill."""
    parts = (spider, kind, without_origin(message), without_origin(url), bill_no or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


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
    key = problem_key(spider, kind, message, url, bill_no)
    # A transaction of its own when the caller has none open (committed, as sqlite-utils' writes
    # were: SourcePipeline relies on it), else a savepoint inside the caller's.
    with atomic(conn):
        seen = conn.execute("SELECT id, times FROM problems WHERE problem_key = ?", [key]).fetchone()
        if seen is not None:
            # The URL and message as last seen: where the failure can be looked at now.
            conn.execute(
                "UPDATE problems SET last_seen_at = ?, times = ?, url = ?, message = ?, resolved_at = NULL "
                "WHERE id = ?",
                [now, (seen[1] or 1) + 1, url, message, seen[0]],
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
            "problem_key": key,
        }
        insert(conn, "problems", [row])


def resolve_problem(
    db: sqlite_utils.Database, spider: str, kind: str, message: str, url: str, bill_no: str | None
) -> bool:
    """The thing that failed works now (a MOJ law whose LY law has since been stored): its row
    is kept, marked resolved_at, and no longer current. True when there was one to resolve."""
    key = problem_key(spider, kind, message, url, bill_no)
    cursor = db.conn.execute(
        "UPDATE problems SET resolved_at = ? WHERE problem_key = ? AND resolved_at IS NULL", [utc_now(), key]
    )
    return cursor.rowcount > 0
