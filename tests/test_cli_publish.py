"""`billtracker publish`: the public snapshot carries the open data and none of the operator's
alert tables (webhook targets, delivery bodies, digest recipients, who unsubscribed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from billtracker.alerts.unsubscribe import address_key
from billtracker.cli.publish import PRIVATE_TABLES, publish_snapshot
from billtracker.serve.read.search import search as page_search
from billtracker.serve.snapshot import LARGE, compact_copy, page_size_for
from pipelines.schema.functions import register_functions
from tests.alerts_helpers import make_db

TARGET = "https://newsroom.example.org/hooks/billtracker-private-target"
RECIPIENT = "private-staffer@example.org"


def test_the_snapshot_keeps_bills_and_carries_no_alert_rows(tmp_path: Path) -> None:
    db = make_db(tmp_path / "live.db")
    db["subscriptions"].insert({"name": "desk", "watch": "cio", "url": TARGET, "secret_env": "HOOK_KEY"})
    db["deliveries"].insert(
        {"event_id": "e1", "target": TARGET, "subscription": "desk", "body": "{}", "status": "pending"}
    )
    db["digest_sends"].insert(
        {"digest": "daily", "period_start": "2016-10-13", "recipient": RECIPIENT, "status": "sent"}
    )
    db["unsubscribes"].insert(
        {"digest": "daily", "address_key": address_key(RECIPIENT), "unsubscribed_at": "t", "how": "page"}
    )
    db.conn.commit()
    db.close()

    out = tmp_path / "public.db"
    result = publish_snapshot(tmp_path / "live.db", out)

    assert result["bills"] == 1
    with sqlite3.connect(out) as conn:
        for table in PRIVATE_TABLES:
            assert conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0, table
        assert conn.execute("SELECT title FROM bills").fetchone()[0] == "行政院組織法第六條條文修正草案"
    raw = out.read_bytes()  # not in a free page either
    assert TARGET.encode() not in raw and RECIPIENT.encode() not in raw
    assert address_key(RECIPIENT).encode() not in raw
    assert set(PRIVATE_TABLES) >= {"digest_sends", "unsubscribes"}
    # the live database keeps them
    with sqlite3.connect(tmp_path / "live.db") as conn:
        assert conn.execute("SELECT url FROM subscriptions").fetchone()[0] == TARGET


def rows_of(path: Path) -> dict[str, list[tuple]]:
    """Every table's and view's rows, in primary-key or column order (the full-text index's
    shadow tables aside: their bytes are what compaction changes)."""
    conn = register_functions(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    names = conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'bills_fts%'"
        " AND name NOT LIKE 'sqlite_%' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
    ).fetchall()
    out = {name: sorted(conn.execute(f'SELECT * FROM "{name}"'), key=repr) for (name,) in names}
    conn.close()
    return out


@pytest.mark.slow
def test_the_snapshot_is_compacted_and_answers_as_the_live_database(
    cli_crawl: tuple[Path, str], tmp_path: Path
) -> None:
    """One segment per full-text index, smaller than a plain VACUUM INTO, and not a row or a
    search hit different from the live file. The replay's 28 bills keep 4 KB pages."""
    live, out, plain = cli_crawl[0], tmp_path / "public.db", tmp_path / "plain.db"
    publish_snapshot(live, out)
    with sqlite3.connect(f"file:{live}?mode=ro", uri=True) as conn:
        segments = conn.execute("SELECT count(DISTINCT segid) FROM bills_fts_idx").fetchone()[0]
        conn.execute("VACUUM INTO ?", [str(plain)])
    assert segments > 1  # the crawl's transactions left several
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert conn.execute("SELECT count(DISTINCT segid) FROM bills_fts_idx").fetchone()[0] == 1
        conn.execute("INSERT INTO bills_fts (bills_fts) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert out.stat().st_size < plain.stat().st_size
    assert rows_of(out) == rows_of(live)
    for q in ("組織法", "資訊長", "委員會", "法", "资讯"):  # the search page, 1-2 characters too
        hits = []
        for path in (live, out):
            conn = register_functions(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
            conn.row_factory = sqlite3.Row
            hits.append([dict(r) for r in page_search(conn, q, limit=1000)])
            conn.close()
        assert hits[0] == hits[1] and hits[0], q


def test_a_large_database_is_copied_on_16_kb_pages(tmp_path: Path) -> None:
    """Past LARGE bytes the copy's rows pack seven 2 KB bills rows to a page, not one."""
    assert page_size_for(LARGE - 1) == 4096 and page_size_for(LARGE) == 16384
    live = tmp_path / "live.db"
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE bills (bill_no TEXT PRIMARY KEY, reason TEXT)")
        reason = "爰擬具本法修正草案。" * 77  # ~2.3 KB in UTF-8, a bills row as ly-term9 has them
        rows = ((f"{n:016d}", reason) for n in range(LARGE // len(reason.encode()) + 1))
        conn.executemany("INSERT INTO bills VALUES (?, ?)", rows)
    assert live.stat().st_size >= LARGE
    compact_copy(live, tmp_path / "copy.db")
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384
    assert (tmp_path / "copy.db").stat().st_size < live.stat().st_size * 0.8
