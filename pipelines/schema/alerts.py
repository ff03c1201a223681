"""Alerts (issue 14): webhook subscriptions, the delivery outbox, and the email digests sent.

`subscriptions` mirrors billtracker/subscriptions.toml the way `watches` mirrors watches.toml; it
keeps the *name* of the environment variable that holds each secret, never the secret, and
datasette_metadata.json denies both tables to the public site anyway (target URLs are the
newsrooms' business). `deliveries` is the outbox: one row per (event, target), derived from
`change_watches` idempotently (a unique index on event_id + target), so a restart or a kill -9
loses nothing and re-deriving sends nothing twice. `digest_sends` and `unsubscribes` concern
email recipients (personal data): denied on the site, emptied by `billtracker publish`.
"""

from __future__ import annotations

import sqlite_utils


def create_webhook_tables(db: sqlite_utils.Database) -> None:
    db["subscriptions"].create(
        {
            "name": str,
            "watch": str,  # watches.name
            "url": str,  # where events are POSTed
            "secret_env": str,  # the environment variable holding the HMAC secret (not the secret)
            "since_change_id": int,  # changes after this id are events (set when first loaded)
            "derived_through": int,  # the outbox holds every matched change up to this id
            "created_at": str,
            "updated_at": str,
        },
        pk="name",
    )
    db["deliveries"].create(
        {
            "id": int,
            "event_id": str,  # stable: the same change and watch give the same id, every time
            "target": str,  # the URL POSTed to
            "subscription": str,
            "change_id": int,
            "watch": str,
            "body": str,  # the JSON POSTed, frozen when queued: every attempt sends the same bytes
            "status": str,  # pending | delivered
            "attempts": int,
            "queued_at": str,
            "next_try_at": str,
            "last_try_at": str,
            "last_status": int,  # the HTTP status of the last attempt (null: no answer)
            "last_error": str,
            "delivered_at": str,
        },
        pk="id",
    )
    db["deliveries"].create_index(["event_id", "target"], unique=True)
    db["deliveries"].create_index(["subscription", "status", "id"])


def create_digest_sends(db: sqlite_utils.Database) -> None:
    """One row per (digest, period, recipient): what was sent, or that nothing changed; a period
    with a row that says sent or nothing is never mailed again."""
    db["digest_sends"].create(
        {
            "digest": str,
            "period_start": str,  # Asia/Taipei date the period starts on
            "recipient": str,
            "period_end": str,  # the day after the period (exclusive)
            "changes": int,
            "status": str,  # sending | sent | nothing | failed
            "message_id": str,  # stable per (digest, period, recipient): mail clients deduplicate
            "attempts": int,
            "last_error": str,
            "sent_at": str,
        },
        pk=("digest", "period_start", "recipient"),
    )


def create_unsubscribes(db: sqlite_utils.Database) -> None:
    """One row per (digest, address key) that unsubscribed through the page's signed link;
    `billtracker digest` mails none of them. The key is sha256 of the address in lower case
    (billtracker/alerts/unsubscribe.py), so the table holds no address; re-subscribing is the
    operator deleting the row."""
    db["unsubscribes"].create(
        {
            "digest": str,  # digests.toml [[digest]] name
            "address_key": str,  # sha256 hex of the address, stripped, lower case
            "unsubscribed_at": str,  # UTC, the first time (a second click changes nothing)
            "how": str,  # page (the confirmation button) | one-click (RFC 8058 POST by a mail client)
        },
        pk=("digest", "address_key"),
    )
