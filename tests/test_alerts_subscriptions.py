"""Subscriptions: the TOML the operator writes, checked; the table that mirrors it keeps only the
name of the secret's variable; a new subscription starts after the newest stored change."""

from __future__ import annotations

from pathlib import Path

import pytest

from billtracker.alerts.subscriptions import (
    DEFAULT_SUBSCRIPTIONS,
    BadSubscription,
    Subscription,
    check_watches,
    load_subscriptions,
    sync_subscriptions,
)
from tests.alerts_helpers import add_changes, make_db


def test_the_shipped_file_loads_and_subscribes_nobody() -> None:
    assert load_subscriptions(DEFAULT_SUBSCRIPTIONS) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('name = "a"\nwatch = "cio"\nurl = "http://x/"', "needs secret_env"),
        ('name = "a"\nwatch = "cio"\nurl = "ftp://x/"\nsecret_env = "K"', "url must be http or https"),
        ('name = "a"\nwatch = "cio"\nurl = "http://x/"\nsecret_env = "not a name"', "secret_env must be"),
        (
            'name = "a"\nwatch = "cio"\nurl = "http://x/"\nsecret_env = "K"\nsecret = "x"',
            "in the environment",
        ),
    ],
)
def test_bad_entries_name_the_file_and_the_entry(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "subs.toml"
    path.write_text(f"[[subscription]]\n{entry}\n", encoding="utf-8")
    with pytest.raises(BadSubscription, match=message) as info:
        load_subscriptions(path)
    assert "subs.toml: subscription #1" in str(info.value)


def test_sync_starts_after_the_newest_change_and_follows_edits(tmp_path: Path) -> None:
    db = make_db(tmp_path / "b.db")
    add_changes(tmp_path / "b.db", 3)
    sub = Subscription("n", "cio", "http://127.0.0.1:9/a", "HOOK_KEY_N")
    check_watches(db, [sub])
    with pytest.raises(BadSubscription, match="not in the watches table"):
        check_watches(db, [Subscription("m", "nobody", "http://x/", "K")])
    sync_subscriptions(db, [sub], "t1")
    row = db["subscriptions"].get("n")
    assert (row["since_change_id"], row["secret_env"]) == (3, "HOOK_KEY_N")
    add_changes(tmp_path / "b.db", 2)
    moved = Subscription("n", "cio", "http://127.0.0.1:9/b", "HOOK_KEY_N")
    sync_subscriptions(db, [moved], "t2")
    row = db["subscriptions"].get("n")
    assert (row["url"], row["since_change_id"], row["updated_at"]) == ("http://127.0.0.1:9/b", 3, "t2")
    sync_subscriptions(db, [], "t3")
    assert db["subscriptions"].count == 0
