"""Run records, bill history, typed change events, watches.

Applied in the order pipelines/schema/__init__.py's MIGRATIONS lists.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.schema.api import create_triggers


def create_scrape_runs(db: sqlite_utils.Database) -> None:
    """One row per crawl attempt: written when it starts, completed when it ends, so a crash
    still leaves a row saying it started and never finished."""
    db["scrape_runs"].create(
        {
            "id": int,
            "spider": str,
            "mode": str,  # full | incremental
            "job": str,  # scheduler job id, or 'cli'
            "attempt": int,  # 1 = first try; retries of a failed/empty/partial run count up
            "started_at": str,
            "ended_at": str,
            "status": str,  # running | ok | failed | empty | interrupted; partial since issue 11
            "requests": int,
            "items": int,
            "inserts": int,
            "updates": int,
            "noops": int,
            "problems": int,
            "exit_code": int,
            "finish_reason": str,  # Scrapy's close reason (finished, shutdown, ...)
            "error": str,  # why it failed, one line
            "flagged": int,  # 1 when retries were exhausted: someone must look
            "pid": int,
        },
        pk="id",
    )
    db["scrape_runs"].create_index(["spider", "status", "ended_at"])


def create_history_tables(db: sqlite_utils.Database) -> None:
    """git-style history: a bill's full record each time its hash changes, and typed events."""
    db["bill_versions"].create(
        {
            "bill_no": str,
            "version": int,  # 1, 2, ... per bill
            "record": str,  # the record as published (JSON)
            "record_sha256": str,
            "detected_at": str,
            "run_id": int,
            "source_url": str,
            "fetched_at": str,
            "content_sha256": str,
        },
        pk=("bill_no", "version"),
    )
    db["changes"].create(
        {
            "id": int,
            "bill_no": str,
            "kind": str,  # new-bill, stage-added, current-stage-changed, ...
            "old_value": str,
            "new_value": str,
            "stage": str,  # the stage slug a stage event concerns
            "committee": str,  # the committee it concerns, if any
            "detail": str,  # JSON
            "detected_at": str,
            "run_id": int,
            "source_url": str,
            "fetched_at": str,
            "content_sha256": str,
        },
        pk="id",
    )
    db["changes"].create_index(["detected_at", "id"])
    db["changes"].create_index(["bill_no"])
    db["changes"].create_index(["kind"])


def create_watches(db: sqlite_utils.Database) -> None:
    """Watches (from a TOML config) and which changes each concerns."""
    db["watches"].create(
        {
            "name": str,  # stable slug, used in feed URLs
            "kind": str,  # law | name | keyword | committee | bill
            "value": str,
            "title": str,
            "updated_at": str,
        },
        pk="name",
    )
    db["change_watches"].create(
        {"change_id": int, "watch": str},
        pk=("change_id", "watch"),
        foreign_keys=[("change_id", "changes", "id"), ("watch", "watches", "name")],
    )
    db["change_watches"].create_index(["watch"])


def create_change_kinds(db: sqlite_utils.Database) -> None:
    """The closed list of change kinds with their Chinese labels (feeds join it for titles)."""
    from pipelines.history.versions import KIND_LABELS

    db["change_kinds"].insert_all(
        [{"kind": k, "label": v} for k, v in KIND_LABELS.items()], pk="kind", replace=True
    )


VERSION_COLUMNS = (
    "bill_no",
    "version",
    "record",
    "record_sha256",
    "detected_at",
    "run_id",
    "source_url",
    "fetched_at",
    "content_sha256",
)


def pack_bill_versions(db: sqlite_utils.Database) -> None:
    """bill_versions becomes a view over `bill_version_records`, whose record is packed
    (pipelines/normalise/packed.py): the same columns, rows and text for every reader, at under a
    third of the size (4.9 KB of a 29 KB ly-term9 bill after VACUUM). The view takes INSERTs as
    the table did (the store writes through it), packing the record on the way in."""
    columns = ", ".join(f'"{c}"' for c in VERSION_COLUMNS)
    db.execute(
        "CREATE TABLE bill_version_records (bill_no TEXT, version INTEGER, record BLOB, record_sha256 TEXT,"
        " detected_at TEXT, run_id INTEGER, source_url TEXT, fetched_at TEXT, content_sha256 TEXT,"
        " PRIMARY KEY (bill_no, version))"
    )
    packed = ", ".join("pack_record(record)" if c == "record" else f'"{c}"' for c in VERSION_COLUMNS)
    db.execute(f"INSERT INTO bill_version_records ({columns}) SELECT {packed} FROM bill_versions")
    db.execute("DROP TABLE bill_versions")
    unpacked = ", ".join(
        "unpack_record(record) AS record" if c == "record" else f'"{c}"' for c in VERSION_COLUMNS
    )
    db.execute(f"CREATE VIEW bill_versions AS SELECT {unpacked} FROM bill_version_records")
    new = ", ".join("pack_record(new.record)" if c == "record" else f'new."{c}"' for c in VERSION_COLUMNS)
    create_triggers(
        db,
        f"""
        CREATE TRIGGER bill_versions_insert INSTEAD OF INSERT ON bill_versions BEGIN
          INSERT INTO bill_version_records ({columns}) VALUES ({new});
        END;
        """,
    )
