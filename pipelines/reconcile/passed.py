"""Step 3b, passed means evidenced: a source's status that says 三讀 where no stage does.

A source's status for this bill (議案狀態, dataset 20 billStatus, lis 進度) that says 三讀 where
no stage does gives a third reading dated as that source dates it (or undated) and a `passed`
disagreement with the flow; never "expired".
"""

from __future__ import annotations

from typing import Any

from pipelines.normalise.stage_row import stage_row
from pipelines.reconcile.context import Context
from pipelines.reconcile.disagreements import disagree, reading
from pipelines.reconcile.inputs import BillInputs
from pipelines.reconcile.precedence import rank
from pipelines.reconcile.seqs import STATUS_SEQ
from scrapers.stages import classify, clean_status


def status_reading(
    source: str, field_name: str, raw: str, on: str | None, prov: dict[str, Any]
) -> dict[str, Any]:
    return {
        "source": source,
        "field": field_name,
        "raw": raw,
        "on": on,
        "source_url": prov.get("source_url") or "",
        "fetched_at": prov.get("fetched_at") or "",
        "content_sha256": prov.get("content_sha256") or "",
    }


def statuses(bill: BillInputs) -> list[dict[str, Any]]:
    """Every source's latest-status reading of this bill, with its date and provenance."""
    out = []
    raw = clean_status(bill.bill["status_raw"] or "")
    if bill.bill["source"] == "lyapi" and raw:
        out.append(status_reading("lyapi", "議案狀態", raw, None, bill.bill))
    for r in bill.readings:
        if r["status_raw"]:
            field_name = {"opendata": "billStatus", "lis": "進度"}.get(r["source"], "議案狀態")
            out.append(status_reading(r["source"], field_name, r["status_raw"], r["status_on"], r))
    return out


def statuses_passed(bill: BillInputs) -> list[dict[str, Any]]:
    """Every source status of this bill that says 三讀, with its date and provenance."""
    return [s for s in statuses(bill) if classify(s["raw"]) == "third-reading"]


def status_third_reading(ctx: Context, bill: BillInputs) -> None:
    """A source's status for this bill that says 三讀 where no stage does: a third reading
    dated as that source dates it, or undated (1050425070200200: 議案狀態 三讀, the flow ends
    at 委員會發文; the 三讀 is on its report, which no record here holds). Never expired."""
    saying = statuses_passed(bill)
    others = [r for r in bill.third_readings() if r["seq"] != STATUS_SEQ]
    if others or not saying:
        why = "a stage of its own records the third reading" if others else "no source's status says 三讀"
        ctx.withdraw(bill, STATUS_SEQ, why)
        return
    latest_own = bill.latest_own_day()
    dated = sorted(r["on"] for r in saying if r["on"] and r["on"] >= latest_own)
    on = dated[0] if dated else None
    top = min(saying, key=lambda r: rank("status", r["source"]))
    text = "; ".join(
        f"{r['source']} {r['field']} {r['raw']}"
        + (f" ({r['on']})" if r["on"] else "")
        + f" at {r['source_url']}"
        for r in saying
    )
    if not on:
        text += "; no source dates it"
    row = stage_row(
        bill.bill_no,
        STATUS_SEQ,
        "third-reading",
        top["raw"],
        "derived",
        f"derived: a source's status for this bill says 三讀: {text}",
        top,
        dates=[on] if on else [],
        on=on,
        order_on=on,
        evidence_kind="source-status",
        evidence=text,
    )
    existing = bill.stages.get(STATUS_SEQ)
    if (
        existing is None
        or existing["gone_at"]
        or any(existing.get(k) != row[k] for k in ("on", "evidence", "note"))
    ):
        ctx.write_stage(bill, row)
        ctx.counts["status_third_readings"] += 1
    ctx.claim(bill, STATUS_SEQ, top["source"], top["raw"], "evidence", row["note"], top)


def passed_ledger(ctx: Context, bill: BillInputs) -> None:
    """Where the bill's own flow and a source's status disagree on whether it passed, a
    `passed` disagreement with every reading; the one that says 三讀 is what is shown."""
    flow = [r for r in bill.live() if r["origin"] == "flow"]
    said = statuses(bill)
    if not flow or not said:
        return
    flow_passed = [r for r in flow if r["stage"] == "third-reading"]
    status_passed = [s for s in said if classify(s["raw"]) == "third-reading"]
    if bool(flow_passed) == bool(status_passed) and (not flow_passed or len(status_passed) == len(said)):
        return  # they agree: all say 三讀, or none does
    last = flow_passed[0] if flow_passed else max(flow, key=lambda r: (r["order_on"] or "", r["seq"]))
    flow_reading = reading("flow", f"{last['status_raw']} ({last['stage']}) {last['on'] or 'undated'}", last)
    status_readings = [
        (s, reading(s["source"], s["raw"] + (f" {s['on']}" if s["on"] else ""), s)) for s in said
    ]
    if flow_passed:
        chosen = flow_reading
    else:
        top = min(status_passed, key=lambda s: rank("status", s["source"]))
        chosen = next(r for s, r in status_readings if s is top)
    readings = [flow_reading] + [r for _, r in status_readings]
    disagree(ctx, bill.bill_no, "passed", readings, "status", chosen=(chosen["source"], chosen["value"]))
