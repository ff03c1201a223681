"""Small helpers for the page builders: dict rows from a sqlite3 connection, table checks.

The page builders are plain functions over a sqlite3 connection, so Datasette runs them with
`execute_fn` and tests call them on a real file directly.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from pipelines.normalise.stage_machine import taipei_day


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(conn: sqlite3.Connection, sql: str, params: Any = ()) -> dict[str, Any] | None:
    found = rows(conn, sql, params)
    return found[0] if found else None


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """A table or a view of that name (bill_versions and search_texts are views over packed or
    shared rows: pipelines/schema/)."""
    sql = "select 1 from sqlite_master where type in ('table', 'view') and name = ?"
    return bool(conn.execute(sql, [name]).fetchone())


def known_until(today: date, as_of: str | None) -> str:
    """The last day the data can speak for: today, or the day of the bill's newest record when
    that is earlier (ly-term9 ends 2018-11-01: "still in committee today" would be a guess)."""
    day = taipei_day(as_of) if as_of else ""
    return min(today.isoformat(), day) if day else today.isoformat()


def days_between(start: str | None, end: str | None) -> int | None:
    """Whole days from one ISO day to another; None when either is missing."""
    if not start or not end:
        return None
    return (date.fromisoformat(end[:10]) - date.fromisoformat(start[:10])).days
