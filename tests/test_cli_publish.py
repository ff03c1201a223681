"""`billtracker publish`: the public snapshot carries the open data and none of the operator's
alert tables (webhook targets, delivery bodies, digest recipients, who unsubscribed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from billtracker.alerts.unsubscribe import address_key
from billtracker.cli.publish import PRIVATE_TABLES, publish_snapshot
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
