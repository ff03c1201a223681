"""What reconcile reads of a chunk of bills: every input of every step, one query per table.

Bills are reconciled CHUNK at a time: a backfill of 150k bills costs ~10 queries per chunk
instead of ~40 per bill, and memory stays bounded. A bill's stages are kept in step with what
the run writes (Context.stage_written), so each step sees what the steps before it wrote.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pipelines.history import versions as history
from pipelines.rawsql import select

CHUNK = 1000  # bills reconciled per chunk


def marks(values: list[Any]) -> str:
    """`?, ?, ...`: one placeholder per value of an IN list."""
    return ",".join("?" for _ in values)


@dataclass
class BillInputs:
    """What reconcile reads and writes of one bill, loaded with the rest of its chunk."""

    bill: dict[str, Any]  # the bills row as read before this bill was reconciled
    stages: dict[int, dict[str, Any]]  # seq -> stored row, gone ones too; kept in step with writes
    readings: list[dict[str, Any]]  # source_bills rows resolved to this bill
    events: dict[tuple[str, str], list[dict[str, Any]]]  # (source, source_key) -> source_stages rows
    lyapi_sponsors: list[dict[str, Any]]
    laws: list[str]
    merged: bool  # has merged_reviews rows
    open_disagreements: bool  # had disagreements rows not superseded
    stored_sources: dict[tuple[int, str], tuple[Any, ...]]  # stage_sources as stored
    sources: dict[tuple[int, str], tuple[Any, ...]] = field(default_factory=dict)  # as this run finds
    changed: bool = False  # a write that history.diff can see (stages, title, current stage)

    @property
    def bill_no(self) -> str:
        return self.bill["bill_no"]

    def live(self) -> list[dict[str, Any]]:
        """Stages not gone, in seq order."""
        return [row for _, row in sorted(self.stages.items()) if row["gone_at"] is None]

    def latest_own_day(self) -> str:
        """The last day of the bill's own stages (its flow, a source's events for it): a pass
        derived for it is never dated before that ("" when it has none dated)."""
        own = [
            d
            for r in self.live()
            if r["origin"] in ("flow", "source")
            for d in (r["on"], r["second_on"])
            if d
        ]
        return max(own, default="")

    def third_readings(self) -> list[dict[str, Any]]:
        """Live 三讀 rows ordered by "on" (NULL first, as SQLite sorts), then seq."""
        rows = [r for r in self.live() if r["stage"] == "third-reading"]
        return sorted(rows, key=lambda r: (r["on"] is not None, r["on"] or "", r["seq"]))


def load(
    conn: sqlite3.Connection, chunk: list[str], before: dict[str, history.BillState]
) -> list[BillInputs]:
    """Every input of these bills' reconcile, one query per table; `before`: their snapshots
    (history.snapshots), which hold their bills rows, live stages, sponsors and laws already."""
    ins = marks(chunk)
    gone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in select(conn, f"SELECT * FROM stages WHERE bill_no IN ({ins}) AND gone_at IS NOT NULL", chunk):
        gone[row["bill_no"]].append(row)
    readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in select(
        conn,
        f"SELECT * FROM source_bills WHERE bill_no IN ({ins}) ORDER BY bill_no, source, source_key",
        chunk,
    ):
        readings[row["bill_no"]].append(row)
    events: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    if readings:
        for row in select(
            conn,
            "SELECT ss.* FROM source_stages ss JOIN source_bills sb "
            "ON ss.source = sb.source AND ss.source_key = sb.source_key "
            f"WHERE sb.bill_no IN ({ins}) ORDER BY ss.source, ss.source_key, ss.seq",
            chunk,
        ):
            events[(row["source"], row["source_key"])].append(row)
    stored: dict[str, dict[tuple[int, str], tuple[Any, ...]]] = defaultdict(dict)
    for row in conn.execute(
        "SELECT bill_no, seq, source, status_raw, role, note, source_url, fetched_at, content_sha256 "
        f"FROM stage_sources WHERE bill_no IN ({ins})",
        chunk,
    ):
        stored[row[0]][(row[1], row[2])] = tuple(row)
    merged = {
        b for (b,) in conn.execute(f"SELECT bill_no FROM merged_reviews WHERE bill_no IN ({ins})", chunk)
    }
    disputed = {
        b
        for (b,) in conn.execute(
            f"SELECT bill_no FROM disagreements WHERE bill_no IN ({ins}) AND superseded_at IS NULL", chunk
        )
    }
    out = []
    for bill_no in chunk:
        state = before[bill_no]
        assert state.bill is not None
        stages = {r["seq"]: r for r in state.stages} | {r["seq"]: r for r in gone.get(bill_no, [])}
        out.append(
            BillInputs(
                bill=state.bill,
                stages=stages,
                readings=readings.get(bill_no, []),
                events=events,
                lyapi_sponsors=[r for r in state.sponsors if r["source"] == "lyapi"],
                laws=list(state.laws),
                merged=bill_no in merged,
                open_disagreements=bill_no in disputed,
                stored_sources=stored.get(bill_no, {}),
            )
        )
    return out
