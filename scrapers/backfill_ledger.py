"""The backfill ledger as the spider reads it: which pages of the plan are not done yet.

The ledger is written by the store (pipelines/store/backfill_ledger.py); the spider in backfill mode reads it
from the SQLite file directly, as scrapers/missed.py reads missed requests: spiders never import
pipelines. `query_key` is the one spelling of a leaf query in the ledger, for both sides.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def query_key(query: dict[str, Any]) -> str:
    """A leaf query as its ledger key: the same JSON for the same query, in the spider and here."""
    return json.dumps(query, ensure_ascii=False, separators=(",", ":"))


def pages_left(conn: sqlite3.Connection, plan_id: int) -> list[tuple[str, int, int]]:
    """(query JSON, page, the leaf's page count) of every page not done, in planning order."""
    return [
        (q, p, n)
        for q, p, n in conn.execute(
            "SELECT query, page, pages FROM backfill_pages WHERE plan_id = ? AND done_at IS NULL "
            "ORDER BY rowid",
            [plan_id],
        )
    ]
