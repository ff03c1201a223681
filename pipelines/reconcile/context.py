"""What every step of a reconcile run shares: the run's state, and the one way it writes.

Every write reconcile makes is a plain SQL statement on the connection (pipelines/rawsql.py,
as the store's are), never a sqlite-utils table call, which reads the schema again each time.
The stage writes here also keep the bill's in-memory stages in step (stage_written), so a later
step of the same bill sees what an earlier one wrote.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date
from typing import Any

import sqlite_utils

from pipelines.rawsql import insert, select_one, update, upsert
from pipelines.reconcile.inputs import BillInputs

# Columns of `bills` whose change can make a typed change event (history.diff): a bill whose
# reconcile touched none of them, nor its stages or sponsors, needs no snapshot afterwards.
_QUIET_BILL_COLUMNS = {"sources", "filed_on"}


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(sql, [name]).fetchone() is not None


class Context:
    """One reconcile run: the database, the frozen day, the run's timestamp and its counts."""

    def __init__(self, db: sqlite_utils.Database, today: date, now: str) -> None:
        self.db = db
        self.conn = db.conn
        self.today = today
        self.now = now
        self.counts: dict[str, int] = defaultdict(int)
        self.found: dict[str, set[str]] = {}  # bill -> fields found in disagreement this run
        self.has_versions = True  # any law_versions / lis_law_versions row (set by the run)
        self.idents: dict[str, list[str]] = {}  # sponsor spelling -> identities (ledger)
        self.aliases: dict[str, str] | None = None  # alias key -> legislator id (sponsors)

    # --- stages ------------------------------------------------------------------------------

    def stage_written(self, bill: BillInputs, seq: int) -> None:
        """Keep the in-memory stages in step with a write (rare: derived rows, gone_at)."""
        row = select_one(self.conn, "SELECT * FROM stages WHERE bill_no = ? AND seq = ?", [bill.bill_no, seq])
        assert row is not None
        bill.stages[seq] = row
        bill.changed = True

    def write_stage(self, bill: BillInputs, row: dict[str, Any]) -> None:
        """Insert or update the row (pipelines/normalise/stage_row.py) by (bill_no, seq)."""
        upsert(self.conn, "stages", [row], ("bill_no", "seq"))
        self.stage_written(bill, row["seq"])

    def add_stage(self, bill: BillInputs, row: dict[str, Any]) -> None:
        """Insert a row at a seq no stage has."""
        insert(self.conn, "stages", [row])
        self.stage_written(bill, row["seq"])

    def update_stage(self, bill: BillInputs, seq: int, values: dict[str, Any]) -> None:
        update(self.conn, "stages", {"bill_no": bill.bill_no, "seq": seq}, values)
        self.stage_written(bill, seq)

    def withdraw(self, bill: BillInputs, seq: int, why: str) -> None:
        """A derived row whose evidence is gone is marked gone_at (kept, never deleted)."""
        row = bill.stages.get(seq)
        if row is not None and row["gone_at"] is None:
            note = f"{row['note']}; evidence gone: {why}"
            self.update_stage(bill, seq, {"gone_at": self.now, "note": note})
            self.counts["derived_withdrawn"] += 1

    def claim(
        self, bill: BillInputs, seq: int, source: str, raw: str, role: str, note: str, prov: dict[str, Any]
    ) -> None:
        """The stage_sources row this run finds for (seq, source) (the last claim wins); written
        for the whole chunk by attach_sources.write_stage_sources."""
        bill.sources[(seq, source)] = (
            bill.bill_no,
            seq,
            source,
            raw,
            role,
            note,
            prov["source_url"],
            prov["fetched_at"],
            prov["content_sha256"],
        )

    # --- bills --------------------------------------------------------------------------------

    def update_bill(self, bill: BillInputs, updates: dict[str, Any]) -> None:
        """Set these columns of the bill's row; a change history can see marks the bill changed."""
        columns = sorted(updates)
        update(self.conn, "bills", {"bill_no": bill.bill_no}, {c: updates[c] for c in columns})
        if set(columns) - _QUIET_BILL_COLUMNS:
            bill.changed = True
