"""A compact, consistent copy of the live database: what `publish` ships and `export` packs.

VACUUM INTO gives one transaction's view of the live file with no free pages. Two things it keeps
that a read-only copy does not need (ly-term9, 3,639 bills: 21.7 -> 20.2 KB a bill):
- 4 KB pages. A bills row is ~2.3 KB (a 案由 of ~1,500 bytes), so most pages held one row and
  ~1.7 KB of nothing; 16 KB pages hold seven (32 and 64 KB came out larger). But every table
  and index takes at least a page, and there are ~190: a small database (the replay's 28 bills,
  2 MB) grows by half on 16 KB pages, so it keeps 4 KB until the live file passes 64 MB.
- the full-text index in the segments the crawls' inserts left. FTS5 merges them only as it goes,
  so the same trigram heads a doclist in several segments ('optimize' makes one: 9% of the index).
At 150,000 bills the compacted copy answers the search page and the API faster than the live file
(docs/benchmarks.md), and compacting it costs seconds (optimize 3 s, VACUUM 6 s).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

PAGE_SIZE = 16384
SMALL_PAGE_SIZE = 4096  # SQLite's default
LARGE = 64 << 20  # bytes of the live file from which 16 KB pages make the copy smaller


def page_size_for(live_bytes: int) -> int:
    return PAGE_SIZE if live_bytes >= LARGE else SMALL_PAGE_SIZE


def fts5_tables(conn: sqlite3.Connection) -> list[str]:
    """The FTS5 virtual tables (not their shadow tables, not fts5vocab)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        " AND sql LIKE 'CREATE VIRTUAL TABLE %USING fts5(%'"
    )
    return [name for (name,) in rows]


def compact_copy(db: Path, out: Path) -> None:
    """Write a compacted copy of `db` to `out` (which must not exist); `db` is only read."""
    vacuum_into(db, out)
    copy = sqlite3.connect(out)
    try:
        optimize(copy)
    finally:
        copy.close()


def vacuum_into(db: Path, out: Path) -> None:
    """VACUUM INTO `out` with the page size for `db`'s size: the copy, not yet compacted (publish
    empties the operator's tables in between)."""
    live_bytes = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        source.execute(f"PRAGMA page_size = {page_size_for(live_bytes)}")  # VACUUM INTO uses it
        source.execute("VACUUM INTO ?", [str(out)])
    finally:
        source.close()


def optimize(conn: sqlite3.Connection) -> None:
    """Merge each full-text index into one segment, then VACUUM away the pages that frees."""
    with conn:
        for table in fts5_tables(conn):
            conn.execute(f'INSERT INTO "{table}" ("{table}") VALUES (\'optimize\')')
    conn.execute("VACUUM")
