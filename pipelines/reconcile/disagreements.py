"""The ledger of disagreements: one open row per question the sources answer differently.

A row is identified by the bill, the field and the sha256 of its readings: the same readings
found again refresh it (last_seen_at), different ones supersede it (kept, never deleted), and a
question a run no longer finds is settled at the end of the bill's reconcile (settle_the_rest).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipelines.rawsql import insert, select, select_one, update
from pipelines.reconcile.context import Context
from pipelines.reconcile.inputs import BillInputs
from pipelines.reconcile.precedence import best


def readings_sha(readings: list[dict[str, Any]]) -> str:
    pairs = sorted((r["source"], r["value"]) for r in readings)
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode()).hexdigest()


def reading(source: str, value: str, prov: dict[str, Any]) -> dict[str, Any]:
    """One source's reading of a field, with where it was read."""
    return {
        "source": source,
        "value": value,
        "source_url": prov.get("source_url") or "",
        "fetched_at": prov.get("fetched_at") or "",
    }


def settle(ctx: Context, bill_no: str, field: str, keep: str = "") -> None:
    """The field's earlier disagreements no longer describe the sources: mark them superseded
    (kept, never deleted), so the ledger's current view shows one row per open question."""
    ctx.conn.execute(
        "UPDATE disagreements SET superseded_at = ? WHERE bill_no = ? AND field = ? "
        "AND readings_sha256 != ? AND superseded_at IS NULL",
        [ctx.now, bill_no, field, keep],
    )


def settle_the_rest(ctx: Context, bill: BillInputs) -> None:
    """Open disagreements of this bill that this run no longer found (the sources now agree,
    or a field stopped being reported) are superseded: kept, no longer current."""
    bill_no = bill.bill_no
    if not bill.open_disagreements and bill_no not in ctx.found:
        return  # none was open and none was found: nothing to settle
    found = ctx.found.get(bill_no, set())
    sql = "SELECT * FROM disagreements WHERE bill_no = ? AND superseded_at IS NULL"
    rows = select(ctx.conn, sql, [bill_no])
    for row in rows:
        if row["field"] not in found:
            update(ctx.conn, "disagreements", {"id": row["id"]}, {"superseded_at": ctx.now})
            ctx.counts["disagreements_settled"] += 1


def disagree(
    ctx: Context,
    bill_no: str,
    field: str,
    readings: list[dict[str, Any]],
    precedence_field: str,
    chosen: tuple[str, str] | None = None,
) -> None:
    """Record (or refresh) one open disagreement; `chosen`: the reading shown, when a rule
    other than source precedence picks it (a 三讀 outranks a flow that stops earlier)."""
    ctx.found.setdefault(bill_no, set()).add(field)
    sha = readings_sha(readings)
    settle(ctx, bill_no, field, keep=sha)
    existing = select_one(
        ctx.conn,
        "SELECT * FROM disagreements WHERE bill_no = ? AND field = ? AND readings_sha256 = ?",
        [bill_no, field, sha],
    )
    if existing:
        seen = {"last_seen_at": ctx.now, "superseded_at": None}
        update(ctx.conn, "disagreements", {"id": existing["id"]}, seen)
        return
    chosen = chosen or best(precedence_field, [(r["source"], r["value"]) for r in readings])
    row = {
        "bill_no": bill_no,
        "field": field,
        "summary": " | ".join(f"{r['source']}: {r['value']}" for r in readings),
        "readings": json.dumps(readings, ensure_ascii=False),
        "chosen_source": chosen[0] if chosen else "",
        "chosen_value": chosen[1] if chosen else "",
        "readings_sha256": sha,
        "detected_at": ctx.now,
        "last_seen_at": ctx.now,
        "superseded_at": None,
    }
    insert(ctx.conn, "disagreements", [row])
    ctx.counts["disagreements"] += 1
