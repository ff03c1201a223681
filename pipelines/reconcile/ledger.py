"""Step 5: fields the sources disagree on, and the reading `bills` shows.

Status, title, filed_on and sponsors get a `disagreements` row with each reading when the
sources differ; `bills` shows the reading pipelines/reconcile/precedence.py picks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from pipelines.normalise.date_doubts import filing_doubt
from pipelines.normalise.names import identities
from pipelines.reconcile.attach_sources import state_key
from pipelines.reconcile.context import Context
from pipelines.reconcile.disagreements import disagree, reading
from pipelines.reconcile.inputs import BillInputs
from pipelines.reconcile.merged_reviews import title_key
from pipelines.reconcile.precedence import best
from pipelines.reconcile.sponsors import alias_index
from scrapers.stages import classify, clean_status


def ledger(ctx: Context, inputs: BillInputs) -> None:
    """Compare each field across sources; record disagreements; apply precedence to `bills`."""
    bill, readings = inputs.bill, inputs.readings
    bill_no = bill["bill_no"]
    primary = bill["source"] == "lyapi"
    fields: dict[str, list[tuple[dict[str, Any], Any]]] = defaultdict(list)  # field -> (reading, key)
    sponsors_by_source = sponsor_sets(ctx, inputs)
    if primary:
        raw = clean_status(bill["status_raw"] or "")
        if raw:
            fields["status"].append((reading("lyapi", raw, bill), state_key(classify(raw))))
        if bill["title"]:
            fields["title"].append((reading("lyapi", bill["title"], bill), title_key(bill["title"])))
        if bill["filed_on"]:
            fields["filed_on"].append((reading("lyapi", bill["filed_on"], bill), bill["filed_on"]))
    for r in readings:
        if r["status_raw"]:
            fields["status"].append((reading(r["source"], r["status_raw"], r), state_key(r["status_stage"])))
        if r["title"]:
            fields["title"].append((reading(r["source"], r["title"], r), title_key(r["title"])))
        if r["filed_on"]:
            fields["filed_on"].append((reading(r["source"], r["filed_on"], r), r["filed_on"]))
    for source, (names, prov) in sponsors_by_source.items():
        fields["sponsors"].append((reading(source, "、".join(names), prov), tuple(sorted(names))))
    updates: dict[str, Any] = {}
    # A doubted filing date (outside the term, after the first reading) is never the fact,
    # whichever source published it: pipelines/normalise/date_doubts.py.
    first_flow_on = min((r["on"] for r in inputs.live() if r["origin"] == "flow" and r["on"]), default=None)
    for field_name, pairs in fields.items():
        if len({key for _, key in pairs}) > 1:
            disagree(ctx, bill_no, field_name, [r for r, _ in pairs], field_name)
        usable = [
            (r["source"], r["value"])
            for r, _ in pairs
            if field_name != "filed_on" or not filing_doubt(r["value"], bill["term"], first_flow_on)
        ]
        chosen = best(field_name, usable)
        if field_name == "filed_on" and chosen is None and bill["filed_on"] is not None:
            updates["filed_on"] = None
        if chosen and field_name in ("title", "filed_on") and bill[field_name] != chosen[1]:
            updates[field_name] = chosen[1]
    sources = sorted({"lyapi"} if primary else set()) + sorted({r["source"] for r in readings})
    updates["sources"] = json.dumps(sources)
    changed = {k: v for k, v in updates.items() if bill.get(k) != v}
    if changed:
        # the columns whose stored value differs: writing the equal ones too changed nothing
        ctx.update_bill(inputs, changed)


def sponsor_sets(ctx: Context, bill: BillInputs) -> dict[str, tuple[list[str], dict[str, Any]]]:
    """Per source: the sponsors as one identity each (legislator id when known)."""
    index = alias_index(ctx)

    def ident(raw: str) -> list[str]:
        found = ctx.idents.get(raw)
        if found is None:  # ~200 legislators sponsor every bill: each spelling is keyed once a run
            found = identities(raw, index)
            ctx.idents[raw] = found
        return found

    out: dict[str, tuple[list[str], dict[str, Any]]] = {}
    rows = bill.lyapi_sponsors
    if rows:
        prov = {"source_url": rows[0]["source_url"], "fetched_at": ""}
        out["lyapi"] = (sorted({i for r in rows for i in ident(r["name_raw"])}), prov)
    for r in bill.readings:
        names = json.loads(r["proposers"] or "[]") + json.loads(r["cosponsors"] or "[]")
        if names:
            out[r["source"]] = (sorted({i for n in names for i in ident(n)}), r)
    return out
