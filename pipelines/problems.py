"""The one way a problem row is written, whichever pipeline found it.

The same problem seen again (every daily run of a broken source) is one row, counted in `times`
with `last_seen_at`, so re-running an unchanged crawl leaves the table as it was.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

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
    seen = next(
        db["problems"].rows_where(
            "spider = ? AND kind = ? AND message = ? AND url = ? AND bill_no IS ?",
            [spider, kind, message, url, bill_no],
        ),
        None,
    )
    if seen is not None:
        db["problems"].update(seen["id"], {"last_seen_at": now, "times": (seen["times"] or 1) + 1})
        return
    db["problems"].insert(
        {
            "recorded_at": now,
            "spider": spider,
            "kind": kind,
            "message": message,
            "url": url,
            "bill_no": bill_no,
            "detail": json.dumps(detail or {}, ensure_ascii=False),
            "last_seen_at": now,
            "times": 1,
        }
    )
