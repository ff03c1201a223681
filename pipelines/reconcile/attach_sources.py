"""Step 4: every stage lists every source that reports it (`stage_sources`).

A secondary source's event on a day no stage has becomes a stage of its own (origin 'source');
one on a day another stage has, of another state, is a disagreement. stage_sources is derived
from what is stored now, so it is rebuilt for each bill on every run (a source that stopped
reporting an event no longer claims it); only rows that differ from the stored ones are written.
"""

from __future__ import annotations

from typing import Any

from pipelines.normalise.stage_row import stage_row
from pipelines.reconcile.context import Context
from pipelines.reconcile.disagreements import disagree, reading
from pipelines.reconcile.inputs import BillInputs
from pipelines.reconcile.precedence import rank
from pipelines.reconcile.seqs import SOURCE_SEQ

# Slugs that name one state in two vocabularies: lis says 一讀(委員會待審) for a bill LYAPI calls
# 交付審查 (1051006070201200), and 委員會審議中 for what LYAPI lists as 尚未審查 (CIO bill,
# 2017-03-22). Treating them as different would fill the ledger with wording, not disagreement.
SAME_STATE: dict[str, str] = {"first-reading": "referred", "committee-listed": "committee-review"}

_WRITE_SS = (
    "INSERT OR REPLACE INTO stage_sources (bill_no, seq, source, status_raw, role, note, source_url, "
    "fetched_at, content_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_SS = "DELETE FROM stage_sources WHERE bill_no = ? AND seq = ? AND source = ?"


def state_key(slug: str) -> str:
    return SAME_STATE.get(slug, slug)


def attach_sources(ctx: Context, bill: BillInputs) -> None:
    """Claim each stored stage for its own source, then each secondary source's dated events
    (best source first); a source-only stage no source reports any more is withdrawn."""
    stages = bill.live()
    for row in stages:
        # a secondary source's own row is claimed below, by the event that still reports it
        if row["origin"] not in ("derived", "source"):
            ctx.claim(bill, row["seq"], row["source"], row["status_raw"], "stored", "", row)
    for source_bill in sorted(bill.readings, key=lambda r: rank("stages", r["source"])):
        for event in bill.events.get((source_bill["source"], source_bill["source_key"]), []):
            if not event["on"] or event["stage"] == "unknown":
                continue
            attach_event(ctx, bill, stages, event)
    supported = {seq for seq, _ in bill.sources if seq >= SOURCE_SEQ}
    for row in stages:
        if row["origin"] == "source" and row["seq"] not in supported:
            ctx.withdraw(bill, row["seq"], f"{row['source']} no longer reports it")


def attach_event(ctx: Context, bill: BillInputs, stages: list[dict[str, Any]], event: dict[str, Any]) -> None:
    """One dated event: it confirms the stage of its day and state, disagrees with another
    state's stage that day, or (when no better source has that day) is a stage of its own."""
    bill_no, source = bill.bill_no, event["source"]
    same_day = [r for r in stages if event["on"] in (r["on"], r["second_on"])]
    match = [r for r in same_day if r["stage"] == event["stage"]]
    match = match or [r for r in same_day if state_key(r["stage"]) == state_key(event["stage"])]
    if match:
        row = match[0]
        role = "stored" if row["source"] == source else "confirms"
        ctx.claim(bill, row["seq"], source, event["status_raw"], role, "", event)
        return
    if same_day:
        other = min(same_day, key=lambda r: rank("stages", r["source"]))
        disagree(
            ctx,
            bill_no,
            f"stage on {event['on']}",
            [
                reading(other["source"], f"{other['stage']} ({other['status_raw']})", other),
                reading(source, f"{event['stage']} ({event['status_raw']})", event),
            ],
            "stages",
        )
        if rank("stages", source) >= rank("stages", other["source"]):
            return
    seq = next_source_seq(bill)
    venue = event["venue"]
    row = stage_row(
        bill_no,
        seq,
        event["stage"],
        event["status_raw"],
        "source",
        f"only {source} reports this event",
        event,
        source=source,
        venue=venue,
        venue_kind="plenary" if venue == "院會" else ("committee" if venue else ""),
        committee=venue if venue not in ("", "院會") else "",
        session_code=event["session_code"],
        dates=[d for d in (event["on"], event["second_on"]) if d],
        on=event["on"],
        second_on=event["second_on"],
        order_on=event["on"],
        evidence_kind="source-event",
        evidence=f"{source}: {event['status_raw']} on {event['on']} ({event['source_url']})",
    )
    ctx.add_stage(bill, row)
    stages.append(row)
    ctx.claim(bill, seq, source, event["status_raw"], "stored", "", event)
    ctx.counts["source_stages_added"] += 1


def next_source_seq(bill: BillInputs) -> int:
    return max((seq + 1 for seq in bill.stages if seq >= SOURCE_SEQ), default=SOURCE_SEQ)


def write_stage_sources(ctx: Context, inputs: list[BillInputs]) -> None:
    """The chunk's stage_sources as this run claimed them: rows no claim holds any more deleted,
    rows that differ from the stored ones written."""
    deletes, writes = [], []
    for bill in inputs:
        deletes += [(bill.bill_no, *key) for key in bill.stored_sources.keys() - bill.sources.keys()]
        writes += [row for key, row in bill.sources.items() if bill.stored_sources.get(key) != row]
    if deletes:
        ctx.conn.executemany(_DELETE_SS, deletes)
    if writes:
        ctx.conn.executemany(_WRITE_SS, writes)
