"""Webhook events: every change a subscribed watch concerns becomes a signed JSON POST, queued in
the `deliveries` outbox and delivered in order per target, at least once.

Why an outbox derived from `change_watches` (not written by the crawl): the crawl's transaction
already stores the change and its watch matches; :func:`queue_events` reads them after commit,
in short transactions of its own, each inserting a chunk of events (INSERT OR IGNORE on
event_id + target) and moving the subscription's cursor past them, so a kill -9 at any point
leaves either both or neither, and running it again adds nothing twice. The crawl process
never waits for a receiver.

Delivery (:func:`deliver`) takes the oldest pending event of each target; a failure or timeout
stops that target until its next try (exponential backoff), so later events never overtake it.
The attempt is committed before the POST and the acknowledgment (2xx) right after it: an event
acknowledged is never sent again; one sent but not yet recorded when the process dies is sent
again (receivers deduplicate by event id). One deliverer at a time (a file lock beside the
database), so the scheduler and `billtracker deliver` never send the same event together.
"""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from billtracker.alerts.signing import EVENT_ID_HEADER, sign
from billtracker.alerts.subscriptions import (
    DEFAULT_SUBSCRIPTIONS,
    check_watches,
    load_subscriptions,
    sync_subscriptions,
)
from pipelines.history.versions import KIND_LABELS
from pipelines.rawsql import select
from pipelines.schema import open_db
from scrapers.stages import LABELS

USER_AGENT = "billtracker-webhooks/1 (+https://github.com/billtracker)"
BILL_FIELDS = (
    "bill_no",
    "term",
    "title",
    "proposal_no",
    "status_raw",
    "current_stage",
    "current_stage_label",
    "current_stage_on",
    "current_stage_derived",
    "current_stage_evidence",
    "current_stage_caveat",
    "last_progress_on",
    "as_of",
    "url",
    "source_url",
    "fetched_at",
)
STAGE_FIELDS = (
    "seq",
    "stage",
    "stage_label",
    "status_raw",
    "origin",
    "venue",
    "committee",
    "on",
    "dates",
    "source",
    "source_url",
    "evidence_kind",
    "evidence",
    "date_doubt",
)


@dataclass(frozen=True)
class Policy:
    """How long to wait for an answer and how to back off: 30 s after the first failure, doubling
    to at most an hour, for ever (an event is never given up on; `attempts` shows who is stuck)."""

    timeout_seconds: float = 10.0
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0

    def backoff(self, attempts: int) -> float:
        return min(self.backoff_seconds * 2 ** max(attempts - 1, 0), self.max_backoff_seconds)


class Busy(RuntimeError):
    """Another deliverer holds the lock."""


def iso(t: float) -> str:
    """UTC to the millisecond: backoffs of less than a second must order correctly."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_id(change: Mapping[str, Any], watch: str) -> str:
    """Stable: a function of the stored change and the watch, the same every time it is derived,
    and different for a different change even in a database rebuilt from scratch (ids alone
    would repeat there)."""
    key = "\x1f".join(str(change[k]) for k in ("id", "bill_no", "kind", "detected_at")) + "\x1f" + watch
    return "evt_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def payload(
    event: str,
    subscription: str,
    watch: Mapping[str, Any],
    change: Mapping[str, Any],
    bill: Mapping[str, Any] | None,
    stage: Mapping[str, Any] | None,
    queued_at: str,
) -> dict[str, Any]:
    """The event as POSTed: the change as stored, the bill as stored when the event was queued
    (its current stage with the evidence and caveat exactly as stored), and the stage row the
    change is about, with its evidence, when it is one."""
    detail = json.loads(change["detail"]) if change.get("detail") else {}
    return {
        "event_id": event,
        "type": "change",
        "subscription": subscription,
        "watch": {"name": watch["name"], "title": watch.get("title") or ""},
        "change": {
            "id": change["id"],
            "bill_no": change["bill_no"],
            "kind": change["kind"],
            "kind_label": KIND_LABELS.get(change["kind"], change["kind"]),
            "old_value": change["old_value"],
            "new_value": change["new_value"],
            "stage": change["stage"] or None,
            "stage_label": LABELS.get(change["stage"]) if change["stage"] else None,
            "committee": change["committee"] or None,
            "detail": detail,
            "detected_at": change["detected_at"],
            "run_id": change["run_id"],
            "source_url": change["source_url"],
            "fetched_at": change["fetched_at"],
            "content_sha256": change["content_sha256"],
        },
        "bill": {k: bill.get(k) for k in BILL_FIELDS} if bill else None,
        "stage": {k: stage.get(k) for k in STAGE_FIELDS} if stage else None,
        "queued_at": queued_at,
    }


def _stage_of(conn: sqlite3.Connection, change: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stage row a stage event names (by seq, and only if it still says what the event said)."""
    detail = json.loads(change["detail"]) if change.get("detail") else {}
    if "seq" not in detail:
        return None
    rows = select(
        conn, "select * from stages where bill_no = ? and seq = ?", [change["bill_no"], detail["seq"]]
    )
    if rows and rows[0]["status_raw"] == detail.get("status_raw"):
        return rows[0]
    return None


def queue_events(conn: sqlite3.Connection, now: float | None = None, chunk: int = 500) -> int:
    """Add every matched change after each subscription's cursor to the outbox, in change order;
    returns how many were added. Idempotent. Payloads are built outside any write transaction and
    written `chunk` events at a time, each chunk with its cursor, so a crawl never waits long."""
    queued_at = iso(time.time() if now is None else now)
    added = 0
    newest = conn.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
    watches = {r["name"]: r for r in select(conn, "select * from watches")}
    bills: dict[str, dict[str, Any] | None] = {}
    for sub in select(conn, "select * from subscriptions order by name"):
        cursor = max(sub["derived_through"] or 0, sub["since_change_id"] or 0)
        while True:
            changes = select(
                conn,
                "select c.* from change_watches cw join changes c on c.id = cw.change_id"
                " where cw.watch = ? and c.id > ? and c.id <= ? order by c.id limit ?",
                [sub["watch"], cursor, newest, chunk],
            )
            rows = []
            for change in changes:
                bill_no = change["bill_no"]
                if bill_no not in bills:
                    found = select(conn, "select * from bills where bill_no = ?", [bill_no])
                    bills[bill_no] = found[0] if found else None
                event = event_id(change, sub["watch"])
                body = payload(
                    event,
                    sub["name"],
                    watches.get(sub["watch"], {"name": sub["watch"]}),
                    change,
                    bills[bill_no],
                    _stage_of(conn, change),
                    queued_at,
                )
                rows.append(
                    (
                        event,
                        sub["url"],
                        sub["name"],
                        change["id"],
                        sub["watch"],
                        json.dumps(body, ensure_ascii=False, sort_keys=True),
                        queued_at,
                        queued_at,
                    )
                )
            cursor = changes[-1]["id"] if len(changes) == chunk else newest
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.total_changes
                conn.executemany(
                    "insert or ignore into deliveries (event_id, target, subscription, change_id, watch,"
                    " body, status, attempts, queued_at, next_try_at)"
                    " values (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                    rows,
                )
                added += conn.total_changes - before
                conn.execute(
                    "update subscriptions set derived_through = ? where name = ?", [cursor, sub["name"]]
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if cursor == newest:
                break
    return added


class Client:
    """One keep-alive connection to one target (a new one after any error)."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """(HTTP status, None) for any answer, (None, error) when there was none."""
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("POST", self.path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
            if response.will_close:
                self.close()
            return response.status, None
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def connect(db_path: str | Path) -> sqlite3.Connection:
    """A plain connection for the deliverer: autocommit (each statement its own transaction
    unless BEGIN says otherwise), busy timeout, synchronous=NORMAL (WAL: a commit survives a
    kill -9; a power cut may lose the last acknowledgment, and the event is then sent again)."""
    conn = sqlite3.connect(str(db_path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def deliver_target(
    db_path: str | Path,
    target: str,
    secrets: Mapping[str, str],
    policy: Policy,
    deadline: float | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, int]:
    """Send the target's due events oldest first until one fails, none is due, or the deadline."""
    conn = connect(db_path)
    client = Client(target, policy.timeout_seconds)
    done = failed = 0
    envs = {r[0]: r[1] for r in conn.execute("select name, secret_env from subscriptions")}
    try:
        while deadline is None or clock() < deadline:
            rows = select(
                conn,
                "select id, event_id, subscription, body, attempts, next_try_at from deliveries"
                " where target = ? and status = 'pending' order by id limit 200",
                [target],
            )
            if not rows:
                break
            stop = False
            for row in rows:
                now = clock()
                if (deadline is not None and now >= deadline) or (row["next_try_at"] or "") > iso(now):
                    stop = True  # the head is not due: nothing behind it may overtake it
                    break
                attempts = row["attempts"] + 1
                secret = secrets.get(envs.get(row["subscription"], ""), "")
                if not secret:
                    error = f"secret not set: environment variable {envs.get(row['subscription'])}"
                    conn.execute(
                        "update deliveries set attempts = ?, last_try_at = ?, last_error = ?, next_try_at = ?"
                        " where id = ?",
                        [attempts, iso(now), error, iso(now + policy.backoff(attempts)), row["id"]],
                    )
                    failed += 1
                    stop = True
                    break
                conn.execute(
                    "update deliveries set attempts = ?, last_try_at = ? where id = ?",
                    [attempts, iso(now), row["id"]],
                )
                body = row["body"].encode("utf-8")
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "User-Agent": USER_AGENT,
                    EVENT_ID_HEADER: row["event_id"],
                    **sign(secret, body, now),
                }
                status, error = client.post(body, headers)
                after = clock()
                if status is not None and 200 <= status < 300:
                    conn.execute(
                        "update deliveries set status = 'delivered', delivered_at = ?, last_status = ?,"
                        " next_try_at = null where id = ?",
                        [iso(after), status, row["id"]],
                    )
                    done += 1
                    continue
                conn.execute(
                    "update deliveries set last_status = ?, last_error = ?, next_try_at = ? where id = ?",
                    [status, error or f"HTTP {status}", iso(after + policy.backoff(attempts)), row["id"]],
                )
                failed += 1
                stop = True
                break
            if stop:
                break
    finally:
        client.close()
        conn.close()
    return {"delivered": done, "failed": failed}


@contextmanager
def delivery_lock(db_path: str | Path) -> Iterator[None]:
    """One deliverer per database: an flock the kernel releases when the holder dies."""
    path = Path(f"{db_path}.deliver.lock")
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another deliverer holds {path}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def deliver(
    db_path: str | Path,
    config: str | Path = DEFAULT_SUBSCRIPTIONS,
    policy: Policy = Policy(),
    secrets: Mapping[str, str] | None = None,
    max_seconds: float | None = None,
) -> dict[str, int]:
    """One delivery pass: load the subscriptions, queue new events, send what is due to every
    target at once (one thread each); returns counts (queued, delivered, failed, pending)."""
    secrets = os.environ if secrets is None else secrets
    if not Path(db_path).exists():
        return {"queued": 0, "delivered": 0, "failed": 0, "pending": 0}  # nothing stored yet
    deadline = None if max_seconds is None else time.time() + max_seconds
    with delivery_lock(db_path):
        subs = load_subscriptions(config)
        db = open_db(db_path)
        try:
            check_watches(db, subs)
            sync_subscriptions(db, subs, iso(time.time()))
        finally:
            db.close()
        conn = connect(db_path)
        try:
            queued = queue_events(conn)
            targets = [
                r[0] for r in conn.execute("select distinct target from deliveries where status = 'pending'")
            ]
        finally:
            conn.close()
        results: list[dict[str, int]] = []
        threads = [
            threading.Thread(
                target=lambda t=t: results.append(deliver_target(db_path, t, secrets, policy, deadline)),
                name=f"deliver {t}",
            )
            for t in targets
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        conn = connect(db_path)
        try:
            pending = conn.execute("select count(*) from deliveries where status = 'pending'").fetchone()[0]
        finally:
            conn.close()
    return {
        "queued": queued,
        "delivered": sum(r["delivered"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "pending": pending,
    }
