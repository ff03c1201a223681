"""Requests a run lost, as data: recorded by the run (pipelines/store/runs.py), re-issued by the next.

A request whose answer was lost (HTTP 413, 429 after the retries, a block page, bad JSON, ...)
is kept as what re-issues it: URL, method, the spider callback's name, cb_kwargs and the meta
that changes how it is checked (`check_body`). `-a retry_of=RUN_ID` makes a SourceSpider start
from the requests that run lost instead of its normal start, each tagged with its
`missed_requests.id` so the run can say which it recovered. Spiders never import pipelines: the
rows are read from the SQLite file directly (read-only), as scrapers/tw_ly/known.py does.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import Request

MISSED_ID = "billtracker_missed_id"  # request.meta key: the missed_requests row it retries
KEPT_META = ("check_body",)  # meta a re-issued request needs to be checked as the first was


def request_record(request: Request | None) -> dict[str, Any] | None:
    """What re-issues `request`: plain JSON-able data, or None when there is no request."""
    if request is None:
        return None
    callback = request.callback
    return {
        "url": request.url,
        "method": request.method,
        "callback": getattr(callback, "__name__", "") if callable(callback) else "",
        "cb_kwargs": dict(request.cb_kwargs),
        "meta": {k: request.meta[k] for k in KEPT_META if k in request.meta},
        "missed_id": request.meta.get(MISSED_ID),
    }


@dataclass(frozen=True)
class Missed:
    """One missed_requests row, as a spider re-issues it."""

    id: int
    url: str
    method: str
    callback: str
    cb_kwargs: dict[str, Any]
    meta: dict[str, Any]


def read_missed(db_path: str | Path, run_id: int, spider: str) -> list[Missed]:
    """The requests run `run_id` of `spider` lost and no later run recovered, oldest first."""
    path = Path(db_path)
    if not path.is_file():
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "select id, url, method, callback, cb_kwargs, meta from missed_requests"
            " where run_id = ? and spider = ? and coalesce(recovered, 0) = 0 order by id",
            [run_id, spider],
        ).fetchall()
    except sqlite3.OperationalError:  # no table yet: nothing was ever missed
        return []
    finally:
        conn.close()
    return [
        Missed(i, url, method or "GET", callback or "", json.loads(kwargs or "{}"), json.loads(meta or "{}"))
        for i, url, method, callback, kwargs, meta in rows
    ]
