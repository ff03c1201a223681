"""One search over bill titles, 案由 and article text, blind to Traditional/Simplified.

Both the stored keys and the query go through the same per-character t2s map
(pipelines/normalise/search_keys.py), which keeps lengths: a hit's position in the key is its position
in the published text, so the snippet shows the text as published.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from markupsafe import Markup, escape

from billtracker.serve.read.dbread import has_table, rows
from pipelines.normalise.search_keys import search_key

FIELD_LABELS = {"title": "議案名稱", "reason": "案由", "articles": "條文"}


def snippet(text: str, key: str, needle: str, width: int = 30) -> Markup:
    at = key.find(needle)
    if at < 0:
        return Markup(escape(text[: width * 2]))
    start, end = max(at - width, 0), at + len(needle) + width
    return Markup(
        ("…" if start else "")
        + str(escape(text[start:at]))
        + f"<mark>{escape(text[at : at + len(needle)])}</mark>"
        + str(escape(text[at + len(needle) : end]))
        + ("…" if end < len(text) else "")
    )


def matching(needle: str) -> tuple[str, list[str]]:
    """A condition on search_texts `s` for rows whose key contains needle: FTS5 trigram for 3+
    characters, LIKE below that."""
    if len(needle) >= 3:
        phrase = '"' + needle.replace('"', '""') + '"'
        return "s.rowid in (select rowid from search_texts_fts where search_texts_fts match ?)", [phrase]
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "s.key like ? escape '\\'", [f"%{escaped}%"]


def search(conn: sqlite3.Connection, q: str, limit: int = 100) -> list[dict[str, Any]]:
    """Bills matching q in any field, latest current stage first, each with its matching fields.

    The page's bills are chosen and ordered in SQL first, and only their texts are read for the
    snippets: at LYAPI scale a broad word (組織法) matches ~50,000 texts, and reading and snipping
    every one of them took 7 s for a page that shows 100 bills."""
    needle = search_key(q.strip())
    if not needle or not has_table(conn, "search_texts"):
        return []
    where, params = matching(needle)
    bills = rows(
        conn,
        f"""select bill_no, title, term, proposer_text, current_stage, current_stage_label, current_stage_on
            from bills where bill_no in (select s.bill_no from search_texts s where {where})
            order by current_stage_on desc, bill_no limit ?""",
        [*params, limit],
    )
    if not bills:
        return []
    marks = ",".join("?" * len(bills))
    hits = rows(
        conn,
        f"select s.bill_no, s.field, s.text, s.key from search_texts s "
        f"where s.bill_no in ({marks}) and {where}",
        [*(b["bill_no"] for b in bills), *params],
    )
    matches: dict[str, list[dict[str, Any]]] = {}
    for h in hits:
        matches.setdefault(h["bill_no"], []).append(
            {
                "field": h["field"],
                "label": FIELD_LABELS.get(h["field"], h["field"]),
                "snippet": snippet(h["text"], h["key"], needle),
            }
        )
    for b in bills:
        b["matches"] = sorted(
            matches.get(b["bill_no"], []), key=lambda m: list(FIELD_LABELS).index(m["field"])
        )
    return bills
