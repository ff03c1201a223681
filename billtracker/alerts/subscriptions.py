"""Webhook subscriptions: the operator's TOML (billtracker/subscriptions.toml) mirrored into the
`subscriptions` table, so deliveries can join it; the secrets stay in the environment.

A subscription covers the changes stored after it was first loaded (`since_change_id`): a
newsroom that subscribes today gets today's news, not 150,000 bills of history.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from billtracker.paths import REPO_ROOT

DEFAULT_SUBSCRIPTIONS = REPO_ROOT / "billtracker" / "subscriptions.toml"
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class BadSubscription(ValueError):
    """A subscription entry that cannot be used; names the file and the entry."""


@dataclass(frozen=True)
class Subscription:
    name: str
    watch: str
    url: str
    secret_env: str


def read_config(path: Path, what: str) -> dict[str, Any]:
    """An alert config file as TOML, or BadSubscription naming the file (missing or not TOML)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadSubscription(f"{what} config not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadSubscription(f"{path}: not valid TOML: {exc}") from None


def load_subscriptions(path: str | Path = DEFAULT_SUBSCRIPTIONS) -> list[Subscription]:
    """[[subscription]] entries: name, watch, url (http or https) and secret_env, the name of
    the environment variable holding the HMAC secret (a secret in the file would end up in git)."""
    path = Path(path)
    config = read_config(path, "subscription")
    subs = []
    for i, entry in enumerate(config.get("subscription", []), start=1):
        where = f"{path}: subscription #{i}"
        missing = [k for k in ("name", "watch", "url", "secret_env") if not entry.get(k)]
        if missing:
            raise BadSubscription(f"{where} needs {', '.join(missing)}; got {sorted(entry)}")
        if "secret" in entry:
            raise BadSubscription(
                f"{where} ({entry['name']}): put the secret in the environment, name it in secret_env"
            )
        if urlsplit(str(entry["url"])).scheme not in {"http", "https"}:
            raise BadSubscription(f"{where} ({entry['name']}): url must be http or https: {entry['url']!r}")
        if not ENV_NAME.match(str(entry["secret_env"])):
            raise BadSubscription(
                f"{where} ({entry['name']}): secret_env must be a variable name like HOOK_SECRET"
            )
        subs.append(
            Subscription(str(entry["name"]), str(entry["watch"]), str(entry["url"]), str(entry["secret_env"]))
        )
    names = [s.name for s in subs]
    if len(set(names)) != len(names):
        raise BadSubscription(f"{path}: subscription names must be unique: {names}")
    return subs


def check_watches(db: sqlite_utils.Database, subs: list[Subscription]) -> None:
    """A subscription to a watch nobody defined would stay silent for ever: say so instead."""
    known = {r["name"] for r in db["watches"].rows} if db["watches"].exists() else set()
    unknown = sorted({s.watch for s in subs} - known)
    if unknown:
        raise BadSubscription(f"subscriptions name watches not in the watches table: {unknown}")


def sync_subscriptions(db: sqlite_utils.Database, subs: list[Subscription], now: str) -> None:
    """Make the table match the config. A new subscription starts after the newest stored change;
    an edited one keeps its place; a removed one is dropped, its pending deliveries with it
    (delivered rows stay as the record)."""
    with db.atomic():
        conn = db.conn
        newest = conn.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
        stored = {r["name"]: r for r in db["subscriptions"].rows}
        for sub in subs:
            row = stored.get(sub.name)
            if row is None:
                conn.execute(
                    "insert into subscriptions (name, watch, url, secret_env, since_change_id,"
                    " derived_through, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [sub.name, sub.watch, sub.url, sub.secret_env, newest, newest, now, now],
                )
            elif (row["watch"], row["url"], row["secret_env"]) != (sub.watch, sub.url, sub.secret_env):
                conn.execute(
                    "update subscriptions set watch = ?, url = ?, secret_env = ?, updated_at = ?"
                    " where name = ?",
                    [sub.watch, sub.url, sub.secret_env, now, sub.name],
                )
                # pending events follow the subscription to its new URL (the old one never acked them)
                conn.execute(
                    "update or ignore deliveries set target = ?"
                    " where subscription = ? and status = 'pending'",
                    [sub.url, sub.name],
                )
        for name in set(stored) - {s.name for s in subs}:
            conn.execute("delete from deliveries where subscription = ? and status = 'pending'", [name])
            conn.execute("delete from subscriptions where name = ?", [name])
