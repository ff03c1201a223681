"""Everything the bill page shows, gathered from the stored tables in one pass.

A bill's journey is its stages in date order, each with the days until the next one (the last
open stage counts up to today), the canonical milestones reached, its sponsors (proposer first),
related and merged bills, documents, amended articles and machine-readable links.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

from billtracker.serve.read.dbread import days_between, has_table, known_until, one, rows
from billtracker.serve.read.lawview import moj_texts, snapshot_for
from pipelines.normalise.evidence import LABELS as EVIDENCE_LABELS
from pipelines.normalise.stage_machine import SETTLED, taipei_day

# The road a bill travels, in order: (key, 中文, the slugs that mean "reached").
MILESTONES: list[tuple[str, str, frozenset[str]]] = [
    ("filed", "提案", frozenset({"filed"})),
    (
        "first-reading",
        "一讀",
        frozenset({"first-reading", "referred", "re-referred", "direct-second-reading"}),
    ),
    ("committee", "委員會審查", frozenset({"committee-listed", "committee-review", "committee-reported"})),
    ("negotiation", "黨團協商", frozenset({"negotiation"})),
    ("second-reading", "二讀", frozenset({"second-reading"})),
    ("third-reading", "三讀", frozenset({"third-reading"})),
    ("promulgated", "公布", frozenset({"promulgated"})),
]
ENDINGS = {"expired", "withdrawn", "rejected", "noted"}


def _dates(stage: dict[str, Any]) -> list[str]:
    days = [d for d in (stage.get("on"), stage.get("second_on")) if d]
    return days


def timeline(stages: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Stages in date order with `days` until the next stage (0 when it followed the same day);
    the last one, if the bill is still open, counts to today (`days_open`)."""
    ordered = sorted(stages, key=lambda s: (s["order_on"] is None, s["order_on"] or "", s["seq"]))
    live = [s for s in ordered if not s.get("gone_at")]
    out = []
    for stage in ordered:
        item = dict(stage)
        item["dates_list"] = _dates(stage)
        item["derived"] = stage["origin"] == "derived"
        item["corrected"] = stage["origin"] == "correction"
        item["days"] = None
        item["days_open"] = False
        if not stage.get("gone_at"):
            at = live.index(stage)
            if at + 1 < len(live):
                item["days"] = days_between(stage["order_on"], live[at + 1]["order_on"])
            elif stage["stage"] not in SETTLED | ENDINGS and stage["order_on"]:
                item["days"] = days_between(stage["order_on"], today.isoformat())
                item["days_open"] = True
        out.append(item)
    return out


def milestones(stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each canonical milestone: reached (with its first day) or not; the bill's ending, if any."""
    live = [s for s in stages if not s.get("gone_at")]
    out = []
    for key, label, slugs in MILESTONES:
        hits = [s for s in live if s["stage"] in slugs]
        on = min((s["on"] for s in hits if s["on"]), default=None)
        # reached only through a reviewed correction: the page says so
        corrected = bool(hits) and all(s["origin"] == "correction" for s in hits)
        out.append({"key": key, "label": label, "reached": bool(hits), "on": on, "corrected": corrected})
    for s in live:
        if s["stage"] in ENDINGS:
            out.append(
                {
                    "key": s["stage"],
                    "label": s["stage_label"],
                    "reached": True,
                    "on": s["on"],
                    "derived": s["origin"] == "derived",
                    "ending": True,
                }
            )
    return out


def applied_corrections(conn: sqlite3.Connection, bill_no: str) -> list[dict[str, Any]]:
    """The bill's applied corrections (pipelines/reconcile/corrections.py), in file order."""
    if not has_table(conn, "corrections"):
        return []
    return rows(
        conn,
        "select * from corrections where bill_no = ? and status = 'applied' and gone_at is null "
        "order by entry",
        [bill_no],
    )


def mark_corrections(timeline_items: list[dict[str, Any]], corrections: list[dict[str, Any]]) -> None:
    """Each stage a correction wrote gets its entry; a stage whose date a correction replaces is
    marked `date_corrected` (the published row is kept and shown as published)."""
    by_seq = {c["stage_seq"]: c for c in corrections}
    for item in timeline_items:
        item["correction"] = by_seq.get(item["seq"]) if item["corrected"] else None
        item["date_corrected"] = None
    for c in corrections:
        if c["field"] != "stage_date":
            continue
        for item in timeline_items:
            if (
                not item["corrected"]
                and not item.get("gone_at")
                and item["stage"] == c["stage"]
                and (
                    item["seq"] == c["target_seq"]
                    if c["target_seq"] is not None
                    else item["status_raw"] == c["target_raw"]
                )
            ):
                item["date_corrected"] = c


def is_merged_report(bill_no: str, title: str) -> bool:
    """A committee's merged-review report (併案審查): billNo digits 8-11 are 0703."""
    return bill_no[7:11] == "0703" or "併案審查" in (title or "")


def bill_journey(conn: sqlite3.Connection, bill_no: str, today: date, database: str) -> dict[str, Any] | None:
    if not has_table(conn, "stages"):
        return None  # a `bills` table of some other database
    bill = one(conn, "select * from bills where bill_no = ?", [bill_no])
    if bill is None:
        return None
    stages = rows(conn, "select * from stages where bill_no = ? order by seq", [bill_no])
    for s in stages:
        s["dates_raw"] = json.loads(s["dates"] or "[]")
    sponsors = rows(
        conn, "select * from sponsors where bill_no = ? order by role = 'cosponsor', seq", [bill_no]
    )
    related = rows(
        conn,
        """select r.related_bill_no, r.related_title, r.source_url, b.title as stored_title,
                  b.current_stage, b.current_stage_label, b.current_stage_on
           from related_bills r left join bills b on b.bill_no = r.related_bill_no
           where r.bill_no = ? order by r.related_bill_no""",
        [bill_no],
    )
    for r in related:
        r["merged"] = is_merged_report(r["related_bill_no"], r["related_title"])
        r["stored"] = r["stored_title"] is not None
    laws = rows(
        conn,
        """select bl.law_code, coalesce(l.name, bl.law_name) as name from bill_laws bl
           left join laws l on l.law_code = bl.law_code where bl.bill_no = ? order by bl.law_code""",
        [bill_no],
    )
    articles = []
    if has_table(conn, "articles"):
        articles = rows(
            conn,
            """select * from articles where bill_no = ? and gone_at is null
               order by law_code, article_key, seq""",
            [bill_no],
        )
    _attach_text_in_force(conn, articles, bill.get("filed_on"))
    corrections = applied_corrections(conn, bill_no)
    items = timeline(stages, date.fromisoformat(known_until(today, bill.get("as_of"))))
    mark_corrections(items, corrections)
    return {
        "database": database,
        "bill": bill,
        "timeline": items,
        "corrections": corrections,
        "milestones": milestones(stages),
        "proposers": [s for s in sponsors if s["role"] == "proposer"],
        "cosponsors": [s for s in sponsors if s["role"] == "cosponsor"],
        "related": related,
        "documents": rows(conn, "select * from documents where bill_no = ? order by seq", [bill_no]),
        "laws": laws,
        "articles": articles,
        "today": today.isoformat(),
        "known_until": known_until(today, bill.get("as_of")),
        "as_of_day": taipei_day(bill["as_of"]) if bill.get("as_of") else "",
        "evidence_labels": EVIDENCE_LABELS,
        "merged_reviews": merged_links(conn, bill_no),
    }


def merged_links(conn: sqlite3.Connection, bill_no: str) -> list[dict[str, Any]]:
    """The merged-review links of this bill (or of this report), with their kind and evidence:
    a candidate is shown as one, never as a merge."""
    if not has_table(conn, "merged_reviews"):
        return []
    return rows(
        conn,
        """select m.*, b.current_stage_label as report_stage from merged_reviews m
           left join bills b on b.bill_no = m.report_bill_no
           where m.bill_no = ? or m.report_bill_no = ? order by m.report_bill_no, m.bill_no""",
        [bill_no, bill_no],
    )


def _attach_text_in_force(
    conn: sqlite3.Connection, articles: list[dict[str, Any]], filed_on: str | None
) -> None:
    """Each article without a quoted 現行 gets the MOJ text in force on the filing day (if stored)."""
    texts_by_law: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for a in articles:
        a["in_force"] = None
        if a["current"] or not a["law_code"] or not a["article_key"]:
            continue
        if a["law_code"] not in texts_by_law:
            texts_by_law[a["law_code"]] = moj_texts(conn, a["law_code"])
        texts = texts_by_law[a["law_code"]]
        snapshot, in_force = snapshot_for(sorted(texts), filed_on)
        row = texts.get(snapshot or "", {}).get(a["article_key"])
        if row is not None:
            a["in_force"] = {"snapshot_on": snapshot, "in_force": in_force, "text": row["text"]}


def feed_links(metadata: dict[str, Any], database: str, bill_no: str) -> list[dict[str, str]]:
    """JSON links always; Atom for every canned query that takes :bill_no and has atom_* columns
    (datasette-atom renders those)."""
    links = [
        {"label": "Timeline JSON", "href": f"/{database}/bill_timeline.json?bill_no={bill_no}&_shape=array"},
        {"label": "Bill JSON", "href": f"/{database}/bills/{bill_no}.json?_shape=array"},
    ]
    queries = metadata.get("databases", {}).get(database, {}).get("queries", {})
    for name, query in sorted(queries.items()):
        sql = query.get("sql", "") if isinstance(query, dict) else str(query)
        if ":bill_no" in sql and "atom_id" in sql:
            links.append({"label": f"Atom: {name}", "href": f"/{database}/{name}.atom?bill_no={bill_no}"})
    return links
