"""The record as it was: what billtracker knew about a bill on a given day, from its stored
versions (`bill_versions`, pipelines/history/versions.py), and which version each change of its
history produced.

A version is the LYAPI record exactly as stored; it is read again through the same normalising
code the store uses (pipelines/normalise/bill_record.py), with "today" set to the day asked for,
so its stages and current stage are the ones billtracker showed then. Reconcile's additions
(other sources' stages, promulgation, corrections) are not versioned: the page says so rather
than mixing today's reconciliation into yesterday's record.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from billtracker.serve.read.dbread import has_table, known_until, one, rows
from billtracker.serve.read.journey import milestones, timeline
from pipelines.normalise.bill_record import normalise_bill
from pipelines.normalise.evidence import LABELS as EVIDENCE_LABELS
from pipelines.normalise.stage_machine import taipei_day
from scrapers.clock import TAIPEI
from scrapers.items import BillItem, Provenance

VERSION_COLUMNS = (
    "bill_no, version, detected_at, run_id, source_url, fetched_at, content_sha256, record_sha256"
)


def end_of_day(day: date) -> str:
    """The UTC instant a Taipei day ends, as stored in *_at columns: versions detected before it
    were known that day."""
    moment = datetime.combine(day + timedelta(days=1), time(), TAIPEI).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        return None


def versions(conn: sqlite3.Connection, bill_no: str) -> list[dict[str, Any]]:
    if not has_table(conn, "bill_versions"):
        return []
    return rows(
        conn, f"select {VERSION_COLUMNS} from bill_versions where bill_no = ? order by version", [bill_no]
    )


def history(conn: sqlite3.Connection, bill_no: str) -> list[dict[str, Any]]:
    """The bill's changes, newest first, each with the version it produced: the store writes a
    version and its changes in one transaction with one timestamp, so run and `detected_at`
    both match; reconcile's changes (same run, later timestamp) have none."""
    if not has_table(conn, "changes"):
        return []
    found = rows(
        conn,
        """select c.id, c.kind, k.label as kind_label, c.old_value, c.new_value, c.detected_at, c.run_id,
                  c.source_url,
                  (select max(v.version) from bill_versions v
                    where v.bill_no = c.bill_no and v.run_id = c.run_id
                      and v.detected_at = c.detected_at) as version
           from changes c left join change_kinds k on k.kind = c.kind
           where c.bill_no = ? order by c.id desc""",
        [bill_no],
    )
    for c in found:
        c["day"] = taipei_day(c["detected_at"]) if c["detected_at"] else ""
    return found


def record_then(
    conn: sqlite3.Connection, bill_no: str, day: date | None = None, version: int | None = None
) -> dict[str, Any] | None:
    """The version known at the end of `day` (or version number `version`), normalised as the
    store would have then; None when the bill has no stored version at all. `version` is None
    in the answer when the bill was not yet known that day."""
    stored = versions(conn, bill_no)
    if not stored:
        return None
    if version is not None:
        chosen = next((v for v in stored if v["version"] == version), None)
    else:
        assert day is not None
        cut = end_of_day(day)
        chosen = next((v for v in reversed(stored) if v["detected_at"] < cut), None)
    out: dict[str, Any] = {
        "bill_no": bill_no,
        "versions": stored,
        "version": chosen,
        "asked_day": day.isoformat() if day else "",
        "evidence_labels": EVIDENCE_LABELS,
    }
    if chosen is None:
        return out
    row = one(
        conn,
        "select record from bill_versions where bill_no = ? and version = ?",
        [bill_no, chosen["version"]],
    )
    record = json.loads(row["record"]) if row else {}
    known_day = date.fromisoformat(taipei_day(chosen["detected_at"]))
    then = day if day is not None and day > known_day else known_day
    item = BillItem(
        bill_no,
        record,
        Provenance(chosen["source_url"], chosen["fetched_at"], chosen["content_sha256"], "tw_ly_bills"),
    )
    normalised = normalise_bill(item, then)
    until = known_until(then, normalised.bill.get("as_of"))  # open stages count to this day
    out.update(
        {
            "then": then.isoformat(),
            "known_until": until,
            "bill": normalised.bill,
            "timeline": timeline(normalised.stages, date.fromisoformat(until)),
            "milestones": milestones(normalised.stages),
            "later": [v for v in stored if v["version"] > chosen["version"]],
        }
    )
    return out
