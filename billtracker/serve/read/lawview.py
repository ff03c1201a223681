"""The law page: every bill amending a law, grouped by article, each proposal beside the text in
force when the bill was filed, differences marked character by character.

The text in force comes from the bill's own 對照表 (現行) when it has one, else from MOJ
(`law_articles`): the latest MOJ snapshot that was already in force on the bill's filing day
(a 9th-term bill meets the 2010 text of 行政院組織法, not the 2023 one). When no snapshot is that
old, the oldest one is shown and labelled as later than the bill.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from billtracker.serve.read.chardiff import changed_chars, diff_html
from billtracker.serve.read.dbread import has_table, one, rows
from pipelines.normalise.article_numbers import article_key, article_label, parse_article, split_article

VERSION_LABELS = {"proposed": "提案條文", "committee": "審查會通過條文", "passed": "三讀條文"}


def find_law(conn: sqlite3.Connection, law: str) -> dict[str, Any] | None:
    """By LY law code (01010) or exact name (行政院組織法)."""
    return one(
        conn, "select * from laws where law_code = ? or name = ? order by law_code limit 1", [law, law]
    )


def moj_texts(conn: sqlite3.Connection, law_code: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{snapshot_on: {article_key: row}} of the MOJ text of one law."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if not has_table(conn, "law_articles"):
        return out
    for row in rows(
        conn,
        """select * from law_articles where law_code = ? and coalesce(article_type, 'A') = 'A'
           order by snapshot_on, seq""",
        [law_code],
    ):
        key = row.get("article_key")
        if not key:
            number = parse_article(row["article_no"] or "")
            key = article_key(*number) if number else ""
        out.setdefault(row["snapshot_on"], {})[key] = row
    return out


def snapshot_for(snapshots: list[str], filed_on: str | None) -> tuple[str | None, bool]:
    """(snapshot in force on filed_on, True) or (the oldest one, False) when none is that old."""
    if not snapshots:
        return None, False
    earlier = [s for s in snapshots if filed_on and s <= filed_on]
    if earlier:
        return earlier[-1], True
    return snapshots[0], False


def law_page(conn: sqlite3.Connection, law: str) -> dict[str, Any] | None:
    found = find_law(conn, law)
    if found is None:
        return None
    code = found["law_code"]
    bills = rows(
        conn,
        """select b.bill_no, b.title, b.term, b.filed_on, b.proposer_text, b.reason, b.origin,
                  b.current_stage, b.current_stage_label, b.current_stage_on, b.current_stage_derived
           from bill_laws bl join bills b on b.bill_no = bl.bill_no
           where bl.law_code = ? order by b.filed_on, b.bill_no""",
        [code],
    )
    by_bill = {b["bill_no"]: b for b in bills}
    articles = []
    if has_table(conn, "articles"):
        articles = rows(
            conn,
            """select * from articles
               where gone_at is null and (law_code = ? or (law_code = '' and law_name = ?))
               order by article_key, bill_no, seq""",
            [code, found["name"]],
        )
    texts = moj_texts(conn, code)
    snapshots = sorted(texts)
    groups: dict[str, dict[str, Any]] = {}
    for a in articles:
        bill = by_bill.get(a["bill_no"]) or one(
            conn,
            "select bill_no, title, term, filed_on, proposer_text, reason, origin, current_stage,"
            " current_stage_label, current_stage_on, current_stage_derived from bills where bill_no = ?",
            [a["bill_no"]],
        )
        key = a["article_key"] or ""
        group = groups.setdefault(
            key,
            {
                "key": key,
                "label": a["article_no"]
                or (
                    article_label(a["article_main"], a["article_sub"] or 0)
                    if a["article_main"]
                    else "（無條號）"
                ),
                "moj_label": article_label(a["article_main"], a["article_sub"] or 0)
                if a["article_main"]
                else "",
                "proposals": [],
                "in_force": {},
                "quoted": {},
            },
        )
        snapshot, in_force = snapshot_for(snapshots, (bill or {}).get("filed_on"))
        moj = texts.get(snapshot or "", {}).get(key) if snapshot else None
        if moj is not None:
            group["in_force"].setdefault(
                snapshot,
                {
                    "snapshot_on": snapshot,
                    "text": moj["text"],
                    "source_url": moj["source_url"],
                    "in_force": in_force,
                },
            )
        _, proposed_body = split_article(a["text"] or "")
        _, quoted_body = split_article(a["current"] or "")
        if quoted_body:
            group["quoted"].setdefault(quoted_body, []).append(a["bill_no"])
        base = quoted_body or (moj["text"] if moj else "")
        group["proposals"].append(
            {
                "article": a,
                "bill": bill or {"bill_no": a["bill_no"], "title": ""},
                "version_label": VERSION_LABELS.get(a["version"], a["version"]),
                "has_text": a["text"] is not None,
                "base": base,
                "base_from": "bill" if quoted_body else ("moj" if moj else ""),
                "snapshot_on": snapshot,
                "diff": diff_html(base, proposed_body) if a["text"] is not None and base else None,
                "changed": changed_chars(base, proposed_body) if a["text"] is not None and base else None,
            }
        )
    for group in groups.values():
        group["in_force"] = sorted(group["in_force"].values(), key=lambda t: t["snapshot_on"])
        group["quoted"] = [{"text": text, "bills": bills} for text, bills in group["quoted"].items()]
    return {
        "law": found,
        "bills": bills,
        "articles": [groups[k] for k in sorted(groups)],
        "snapshots": snapshots,
        "bills_without_articles": [b for b in bills if b["bill_no"] not in {a["bill_no"] for a in articles}],
    }
