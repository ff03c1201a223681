"""Step 3, 併案: merged-review reports linked to the proposals they merge, and their 三讀.

A committee's merged-review report (billNo digits 8-11 "0703") is linked to the proposals it
merges on evidence only (pipelines/reconcile/merged_reviews.py), and the report's own dated 三讀 becomes a
derived third reading of each proposal linked by evidence. A 三讀 another proposal of the report
records is not this bill's evidence: it is never borrowed.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.normalise.stage_row import stage_row
from pipelines.rawsql import select, upsert
from pipelines.reconcile.context import Context
from pipelines.reconcile.disagreements import disagree, reading
from pipelines.reconcile.inputs import BillInputs
from pipelines.reconcile.merged_reviews import REPORT_MARK, BillText, find_links, is_report, report_filed_on
from pipelines.reconcile.seqs import MERGED_SEQ, STATUS_SEQ


def related(ctx: Context, reports_only: bool) -> list[dict[str, Any]]:
    """關連議案 rows (related_bills, then the sources' own lists); with reports_only just those
    naming a report on one side (SQLite filters: a corpus without reports reads nothing)."""
    where = " WHERE substr(bill_no, 8, 4) = ? OR substr(related_bill_no, 8, 4) = ?" if reports_only else ""
    found = select(
        ctx.conn,
        f"SELECT bill_no, related_bill_no, related_title, source_url FROM related_bills{where}",
        [REPORT_MARK, REPORT_MARK] if reports_only else [],
    )
    for src in select(
        ctx.conn,
        "SELECT bill_no, related, source_url FROM source_bills WHERE bill_no != '' "
        "AND related IS NOT NULL AND related NOT IN ('', '[]')",
    ):
        for r in json.loads(src["related"] or "[]"):
            if r.get("bill_no") and not (
                reports_only and not (is_report(src["bill_no"]) or is_report(r["bill_no"]))
            ):
                found.append(
                    {
                        "bill_no": src["bill_no"],
                        "related_bill_no": r["bill_no"],
                        "related_title": r.get("title", ""),
                        "source_url": src["source_url"],
                    }
                )
    return found


def link_merged_reviews(ctx: Context) -> None:
    """merged_reviews rebuilt from what is stored (pipelines/reconcile/merged_reviews.py): links on
    evidence only, each with its kind; a stored link the records no longer support goes."""
    conn = ctx.conn
    links = related(ctx, reports_only=True)
    has_reports = (
        links
        or conn.execute(
            "SELECT 1 FROM bills WHERE substr(bill_no, 8, 4) = ? LIMIT 1", [REPORT_MARK]
        ).fetchone()
    )
    found = {}
    if has_reports:
        names_reports = {
            r["bill_no"] for r in links if not is_report(r["bill_no"]) and is_report(r["related_bill_no"])
        }
        bills = [
            BillText(r[0], r[1] or "", r[2] or "", r[3], r[4], r[0] in names_reports)
            for r in conn.execute(
                "SELECT b.bill_no, b.title, b.proposer_text, "
                '(SELECT min(s."on") FROM stages s WHERE s.bill_no = b.bill_no AND s.gone_at IS NULL '
                " AND s.origin = 'flow' AND s.stage IN ('first-reading', 'referred')), "
                '(SELECT min(s."on") FROM stages s WHERE s.bill_no = b.bill_no AND s.gone_at IS NULL '
                " AND s.origin = 'flow' AND s.stage IN ('withdrawn', 'rejected', 'third-reading')) "
                "FROM bills b"
            )
        ]
        found = find_links(links, bills)
    stored = {
        (r["report_bill_no"], r["bill_no"]): r
        for r in select(conn, "SELECT * FROM merged_reviews ORDER BY report_bill_no, bill_no")
    }
    gone = [key for key in stored if key not in found]
    if gone:
        conn.executemany("DELETE FROM merged_reviews WHERE report_bill_no = ? AND bill_no = ?", gone)
    rows = []
    for key, link in found.items():
        row = {
            "report_bill_no": link.report_bill_no,
            "bill_no": link.bill_no,
            "report_title": link.report_title,
            "evidence": link.evidence,
            "source_url": link.source_url,
            "kind": link.kind,
        }
        if stored.get(key) != row:
            rows.append(row)
    upsert(conn, "merged_reviews", rows, ("report_bill_no", "bill_no"))
    ctx.counts["merged_links"] = len(found)
    for link in found.values():
        ctx.counts[f"merged_links_{link.kind}"] += 1


def report_third_reading(ctx: Context, bill: BillInputs) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the report's own dated 三讀, the link) that gives this bill its third reading, if any.
    Only links of evidence kinds count; only the report's own stages (never one derived for
    it, never another proposal's), dated no earlier than the report was filed and than this
    bill's own stages. Several reports: the earliest 三讀, then the lowest report number, so
    the result does not depend on the order the records arrived in."""
    links = select(
        ctx.conn,
        "SELECT * FROM merged_reviews WHERE bill_no = ? AND kind IN ('related', 'title') "
        "ORDER BY report_bill_no",
        [bill.bill_no],
    )
    if not links:
        return None
    latest_own = bill.latest_own_day()
    usable = []
    for link in links:
        report = link["report_bill_no"]
        filed = report_filed_on(report) or ""
        for row in select(
            ctx.conn,
            "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading' AND gone_at IS NULL "
            "AND origin IN ('flow', 'source') AND \"on\" IS NOT NULL ORDER BY \"on\", seq",
            [report],
        ):
            if row["on"] >= filed and row["on"] >= latest_own:
                usable.append((row["on"], report, row["seq"], row, link))
            else:
                ctx.counts["report_third_readings_refused"] += 1
                disagree(
                    ctx,
                    bill.bill_no,
                    "report 三讀",
                    [
                        reading("report", f"{report} 三讀 {row['on']}", row),
                        reading(
                            "lyapi",
                            f"report filed {filed}; this bill's own latest stage {latest_own}",
                            bill.bill,
                        ),
                    ],
                    "stages",
                )
    if not usable:
        return None
    _, _, _, row, link = min(usable, key=lambda u: u[:3])
    return row, link


def propagate_merged(ctx: Context, bill: BillInputs) -> None:
    """The report's own dated 三讀 as this bill's derived third reading (MERGED_SEQ), citing it
    and the link; withdrawn when the bill has a third reading of its own or the evidence goes."""
    stored = [r for r in bill.third_readings() if r["seq"] not in (MERGED_SEQ, STATUS_SEQ)]
    if stored:
        ctx.withdraw(bill, MERGED_SEQ, "the bill has a third reading of its own")
        return
    found = report_third_reading(ctx, bill) if bill.merged else None
    if found is None:
        ctx.withdraw(bill, MERGED_SEQ, "no linked report's own dated 三讀 is stored")
        return
    evidence, link = found
    report = link["report_bill_no"]
    text = (
        f"三讀 of the merged-review report {report} on {evidence['on']} ({evidence['status_raw']}, "
        f"{evidence['source_url']}); linked by {link['kind']}: {link['evidence']}"
    )
    note = f"derived: {text}"
    existing = bill.stages.get(MERGED_SEQ)
    same = existing and (existing["note"], existing["on"], existing["evidence"]) == (
        note,
        evidence["on"],
        text,
    )
    if not (same and not existing["gone_at"]):  # else: already derived from the same evidence
        ctx.write_stage(bill, merged_row(bill.bill_no, evidence, note, text))
        ctx.counts["merged_third_readings"] += 1
    ctx.claim(bill, MERGED_SEQ, evidence["source"], evidence["status_raw"], "evidence", note, evidence)


def merged_row(bill_no: str, evidence: dict[str, Any], note: str, text: str) -> dict[str, Any]:
    """The derived 三讀: the report's row as the evidence, reconcile as the source."""
    row = stage_row(
        bill_no,
        MERGED_SEQ,
        "third-reading",
        evidence["status_raw"],
        "derived",
        note,
        evidence,
        source="reconcile",
        venue=evidence["venue"],
        venue_kind=evidence["venue_kind"],
        session_code=evidence["session_code"],
        on=evidence["on"],
        second_on=evidence["second_on"],
        order_on=evidence["order_on"],
        evidence_kind="report",
        evidence=text,
    )
    # the report's sittings and dates, copied as stored (JSON text)
    row["meeting_codes"], row["dates"] = evidence["meeting_codes"], evidence["dates"]
    return row
