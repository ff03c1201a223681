"""A passed bill's promulgation, derived from its law's versions (MOJ 沿革, lis law versions)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pipelines.normalise.stage_row import stage_row
from pipelines.rawsql import select
from pipelines.reconcile.context import Context, has_table
from pipelines.reconcile.disagreements import disagree, reading
from pipelines.reconcile.inputs import BillInputs, marks
from pipelines.reconcile.precedence import best
from pipelines.reconcile.seqs import PROMULGATED_SEQ

# The President promulgates within ten days of receiving a passed bill (憲法 §72); with the time
# the bill takes to reach the Presidential Office, a month covers every sample. A version further
# off is another amendment, not this bill's.
PROMULGATION_WINDOW_DAYS = 45


def promulgations(ctx: Context, law_codes: list[str]) -> list[dict[str, Any]]:
    """Every promulgation of these laws: MOJ 沿革 (law_versions, tw_law_moj) and lis versions."""
    if not law_codes or not ctx.has_versions:
        return []
    ins = marks(law_codes)
    found: list[dict[str, Any]] = []
    if has_table(ctx.conn, "law_versions"):
        for r in select(
            ctx.conn,
            f"SELECT * FROM law_versions WHERE law_code IN ({ins}) AND promulgated_on IS NOT NULL",
            law_codes,
        ):
            what = f"MOJ 沿革 {r['text_raw']}"
            found.append({**r, "source": "moj", "on": r["promulgated_on"], "what": what})
    for r in select(
        ctx.conn,
        f"SELECT * FROM lis_law_versions WHERE law_code IN ({ins}) "
        "AND action = '公布' AND \"on\" IS NOT NULL",
        law_codes,
    ):
        found.append({**r, "source": "lis", "what": f"lis law version {r['text_raw']}"})
    return found


def derive_promulgation(ctx: Context, bill: BillInputs) -> None:
    """A passed bill's law promulgated within PROMULGATION_WINDOW_DAYS after its 三讀 -> a
    derived `promulgated` stage citing the 沿革 entry; MOJ first, lis second (precedence)."""
    bill_no = bill.bill_no
    passed = [r for r in bill.third_readings() if r["on"]]
    laws = bill.laws
    if not passed or not laws:
        ctx.withdraw(bill, PROMULGATED_SEQ, "no third reading is stored")
        return
    third = date.fromisoformat(passed[0]["on"])
    candidates = [
        p
        for p in promulgations(ctx, laws)
        if 0 <= (date.fromisoformat(p["on"]) - third).days <= PROMULGATION_WINDOW_DAYS
    ]
    if not candidates:
        ctx.withdraw(bill, PROMULGATED_SEQ, "no promulgation follows the third reading")
        return
    by_source: dict[str, dict[str, Any]] = {}
    for p in sorted(candidates, key=lambda p: p["on"]):
        by_source.setdefault(p["source"], p)
    if len({p["on"] for p in by_source.values()}) > 1:
        disagree(
            ctx,
            bill_no,
            "promulgated_on",
            [reading(src, p["on"], p) for src, p in by_source.items()],
            "promulgated",
        )
    chosen_source, chosen = best("promulgated", list(by_source.items())) or ("", None)
    assert chosen is not None
    note = (
        f"derived: {chosen['what']} ({chosen['on']}), the first promulgation of law "
        f"{chosen['law_code']} after the 三讀 of {passed[0]['on']}"
    )
    existing = bill.stages.get(PROMULGATED_SEQ)
    unchanged = existing and (existing["note"], existing["source_url"]) == (note, chosen["source_url"])
    if not (unchanged and not existing["gone_at"]):  # else: already derived from the same evidence
        row = stage_row(
            bill_no,
            PROMULGATED_SEQ,
            "promulgated",
            chosen["text_raw"],
            "derived",
            note,
            chosen,
            source=chosen_source,
            dates=[chosen["on"]],
            on=chosen["on"],
            order_on=chosen["on"],
            evidence_kind="law-version",
            evidence=f"{chosen['what']} on {chosen['on']} ({chosen['source_url']})",
        )
        ctx.write_stage(bill, row)
        ctx.counts["promulgations"] += 1
    for src, p in by_source.items():
        if p["on"] == chosen["on"]:
            ctx.claim(bill, PROMULGATED_SEQ, src, p["text_raw"], "evidence", p["what"], p)
