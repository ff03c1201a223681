"""The backfill ledger: plans, their pages, and what is done.

Written by the store pipeline (leaf pages while planning, a page done with its bills) and read
by `billtracker backfill` (the plan it prints, progress, what a resumed crawl still asks for).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from scrapers.items import PageDoneItem, PlanLeafItem


def add_leaf(conn: sqlite3.Connection, item: PlanLeafItem, now: str) -> None:
    """One row per page of the leaf; a page already in the ledger is kept as it is."""
    rows = [
        (item.plan_id, item.query, page, item.pages, item.total, now)
        for page in range(item.first_page, item.pages + 1)
    ]
    conn.executemany(
        "INSERT OR IGNORE INTO backfill_pages (plan_id, query, page, pages, total, added_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )


def mark_done(conn: sqlite3.Connection, item: PageDoneItem, run_id: int | None, now: str) -> None:
    conn.execute(
        "UPDATE backfill_pages SET done_at = ?, run_id = ?, total = ? WHERE plan_id = ? AND query = ? "
        "AND page = ?",
        [now, run_id, item.total, item.plan_id, item.query, item.page],
    )


@dataclass
class Progress:
    leaves: int
    pages: int
    done: int
    bills_expected: int

    @property
    def left(self) -> int:
        return self.pages - self.done


def progress(conn: sqlite3.Connection, plan_id: int) -> Progress:
    """The ledger's counts now (committed pages only: a reader sees no open batch)."""
    pages, done = conn.execute(
        "SELECT count(*), count(done_at) FROM backfill_pages WHERE plan_id = ?", [plan_id]
    ).fetchone()
    leaves, expected = conn.execute(
        "SELECT count(*), coalesce(sum(total), 0) FROM "
        "(SELECT query, max(total) AS total FROM backfill_pages WHERE plan_id = ? GROUP BY query)",
        [plan_id],
    ).fetchone()
    return Progress(leaves, pages, done, expected)
