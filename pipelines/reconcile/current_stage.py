"""Step 6: the current stage over all stages, with its evidence kind and the caveat the page and
the API show.

Expiry is derived only from a record captured after the term ended (bills.as_of), and a derived
expiry that no longer holds is marked gone_at, never deleted.
"""

from __future__ import annotations

from typing import Any

from pipelines.normalise.bill_record import DERIVED_SEQ, expiry_row
from pipelines.normalise.stage_machine import (
    Event,
    State,
    capture_stamp,
    current_stage,
    stale_caveat,
    unknown_caveat,
)
from pipelines.reconcile.context import Context
from pipelines.reconcile.inputs import BillInputs
from pipelines.reconcile.passed import statuses
from scrapers.stages import LABELS


def evidence_kind(row: dict[str, Any] | None) -> str | None:
    """A stage row's evidence kind; rows stored before kinds existed are known by their origin."""
    if row is None:
        return None
    return row.get("evidence_kind") or {"flow": "flow", "field": "field", "source": "source-event"}.get(
        row["origin"]
    )


def as_of(inputs: BillInputs) -> str | None:
    """The newest capture of any record of this bill: nothing after it is known."""
    stamps = [capture_stamp(inputs.bill.get("as_of"))]
    stamps += [capture_stamp(r.get("captured_at") or r.get("fetched_at")) for r in inputs.readings]
    return max((s for s in stamps if s), default=None)


def recompute_stage(ctx: Context, inputs: BillInputs) -> None:
    """Current stage over every live stage, with the evidence it rests on and the caveat
    the page and the API show. Expiry is derived here from the bill's newest capture of
    any source; one that no longer holds is marked gone_at (kept, never deleted)."""
    bill, bill_no = inputs.bill, inputs.bill_no
    rows = inputs.live()
    events = [
        Event(r["seq"], r["stage"], r["on"], r["session_code"] or "", r["order_on"] or r["on"])
        for r in rows
        if r["stage"] != "expired"
    ]
    captured = as_of(inputs)
    if not events:
        no_stage(ctx, inputs, captured)
        return
    state = current_stage(events, bill["term"], ctx.today, captured)
    expiry = inputs.stages.get(DERIVED_SEQ)
    if state.slug == "expired":
        assert state.on is not None and captured is not None
        prov = {k: bill[k] for k in ("source", "source_url", "fetched_at", "content_sha256")}
        row = expiry_row(bill_no, bill["term"], state.on, captured, prov)
        if expiry is None or expiry["gone_at"] or expiry.get("evidence") != row["evidence"]:
            ctx.write_stage(inputs, row)
            ctx.counts["expiries"] += 1
    elif expiry is not None and expiry["gone_at"] is None and expiry["origin"] == "derived":
        note = (expiry["note"] or "") + f"; undone: current stage is {state.slug}"
        ctx.update_stage(inputs, DERIVED_SEQ, {"gone_at": ctx.now, "note": note})
    current = inputs.stages.get(state.seq) if state.seq is not None else None
    update = {
        "current_stage": state.slug,
        "current_stage_label": LABELS.get(state.slug or "", ""),
        "current_stage_on": state.on,
        "current_stage_derived": int(state.derived),
        "current_stage_evidence": "term-ended" if state.derived else evidence_kind(current),
        "current_stage_caveat": caveat(inputs, state, current),
        "as_of": captured,
    }
    if any(bill.get(k) != v for k, v in update.items()):
        ctx.update_bill(inputs, update)
        ctx.counts["stages_recomputed"] += 1


def no_stage(ctx: Context, inputs: BillInputs, captured: str | None) -> None:
    """A bill no source gives a dated stage (a dataset-20 row alone): its stage is
    `unknown`, never blank (the page showed "None"), and the caveat names the raw statuses
    the sources do give. An undated status is not a stage: it is not used as one."""
    said = ", ".join(f"{s['source']} {s['field']} {s['raw']}" for s in statuses(inputs))
    caveat_text = "no source records a dated stage of this bill" + (
        f"; latest status per {said}" if said else ""
    )
    update = {
        "current_stage": "unknown",
        "current_stage_label": LABELS["unknown"],
        "current_stage_on": None,
        "current_stage_derived": 0,
        "current_stage_evidence": None,
        "as_of": captured,
        "current_stage_caveat": caveat_text,
    }
    if any(inputs.bill.get(k) != v for k, v in update.items()):
        ctx.update_bill(inputs, update)


def caveat(inputs: BillInputs, state: State, current: dict[str, Any] | None) -> str:
    """What must be said beside the stage: data too old to settle it, a pass only a
    source's status gives, a stage no source dates."""
    said = []
    if state.stale_since is not None:
        said.append(stale_caveat(inputs.bill["term"], state))
    if state.slug == "unknown" and current is not None:
        said.append(unknown_caveat(current.get("status_raw"), state.on))
    if current is not None and current.get("evidence_kind") in ("source-status", "report"):
        flow = [r for r in inputs.live() if r["origin"] == "flow"]
        last = max(flow, key=lambda r: (r["order_on"] or "", r["seq"])) if flow else None
        where = ""
        if last:
            where = f"; the bill's own 議案流程 ends at {last['status_raw']} ({last['on'] or 'undated'})"
        said.append(f"{LABELS.get(state.slug or '', '')} per {current['evidence']}{where}")
    undated_said = current is not None and "no source dates it" in (current.get("evidence") or "")
    if current is not None and state.slug and not state.on and not state.derived and not undated_said:
        said.append(f"{LABELS.get(state.slug, '')}: no source dates this stage")
    return "; ".join(said)
