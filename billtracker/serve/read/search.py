"""One search over bill titles, 案由 and article text, blind to Traditional/Simplified.

Both the stored keys and the query go through the same per-character t2s map
(pipelines/normalise/search_keys.py), which keeps lengths: a hit's position in the key is its position
in the published text, so the snippet shows the text as published.

Which bills may match comes from the one search index, bills_fts (the published titles and 案由,
also serving the API and Datasette's table search), asked for every spelling of the query; the
keys (the `search_texts` view, which keys each text as it reads it) then decide, so a hit is
exactly a key that contains the query's key.
"""

from __future__ import annotations

import sqlite3
from functools import cache
from itertools import product
from typing import Any

from markupsafe import Markup, escape

from billtracker.serve.read.dbread import has_table, rows
from pipelines.normalise.search_keys import search_key
from pipelines.schema.api import ROWID_SPAN
from pipelines.schema.fts import SEARCH_INDEX, SEARCH_VOCAB
from pipelines.schema.functions import register_functions

FIELD_LABELS = {"title": "議案名稱", "reason": "案由", "articles": "條文"}


def snippet(text: str, at: int, needle: str, width: int = 30) -> Markup:
    """The text around its first hit at `at` (a key keeps the text's length: the hit is as long as
    the needle)."""
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


# Every code point search_key maps elsewhere (CJK, compatibility ideographs, radicals, the
# supplementary planes): what the inverse map is built from.
_KEYED_RANGES = ((0x2E80, 0xA000), (0xF900, 0xFB00), (0xFE30, 0xFE50), (0xFF00, 0xFFF0), (0x20000, 0x323B0))
# A window with more spellings than this constrains nothing worth the query's length.
MAX_SPELLINGS = 64
# Up to this many spellings of the whole query, texts are checked for each spelling as published
# (instr and str.find, in C) instead of keying every candidate text (~0.3 µs a character in Python).
MAX_TEXT_SPELLINGS = 32
VERIFY_CHUNK = 500  # candidates whose stored keys are checked at a time


@cache
def _spellings_of() -> dict[str, tuple[str, ...]]:
    """key character -> every character search_key maps to it (itself included when it maps to
    itself): built once a process, ~0.2 s."""
    inverse: dict[str, list[str]] = {}
    for low, high in _KEYED_RANGES:
        for code in range(low, high):
            ch = chr(code)
            inverse.setdefault(search_key(ch), []).append(ch)
    return {k: tuple(v) for k, v in inverse.items()}


def spellings(key: str) -> list[str]:
    """Every published string whose search key is `key` ('资讯' -> 資訊, 資讯, 资訊, 资讯)."""
    table = _spellings_of()
    return ["".join(p) for p in product(*(table.get(ch, (ch,)) for ch in key))]


def text_spellings(needle: str) -> list[str] | None:
    """Every spelling of the needle when there are few enough to look for one by one: a text's key
    contains the needle exactly where the text contains one of them."""
    table = _spellings_of()
    count = 1
    for ch in needle:
        count *= len(table.get(ch, (ch,)))
        if count > MAX_TEXT_SPELLINGS:
            return None
    return spellings(needle)


def first_hit(text: str, needle: str, forms: list[str] | None) -> int:
    """Where the text's key first contains the needle (-1: nowhere)."""
    if forms is None:
        return search_key(text).find(needle)
    found = [at for at in (text.find(f) for f in forms) if at >= 0]
    return min(found, default=-1)


def fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def index_query(conn: sqlite3.Connection, needle: str) -> str | None:
    """An FTS5 query for bills_fts that every bill whose title or 案由 key contains `needle` matches
    (more may match: billtracker.serve.read.search verifies on the stored keys). Published text is indexed as
    published, so each trigram of the needle is asked for in every spelling; 1-2 characters ask for
    the index's trigrams that begin with any spelling (the index's end marks make that exact).
    None: no useful condition (look everywhere); '': no trigram matches, so no title or 案由 does."""
    if len(needle) < 3:
        terms = {
            term
            for start in {s.lower() for s in spellings(needle)}
            for (term,) in conn.execute(
                f"select term from {SEARCH_VOCAB} where term >= ? and term < ?",
                [start, start + chr(0x10FFFF)],
            )
        }
        return " OR ".join(fts_phrase(t) for t in sorted(terms))
    windows = []
    for i in range(len(needle) - 2):
        forms = spellings(needle[i : i + 3])
        if len(forms) <= MAX_SPELLINGS:
            windows.append("(" + " OR ".join(fts_phrase(f) for f in forms) + ")")
    return " AND ".join(dict.fromkeys(windows)) or None


def candidates(conn: sqlite3.Connection, needle: str) -> tuple[str, list[str]]:
    """SQL for every bill that may match, in the page's order: from the index's bill rows (titles
    and 案由, rowid > 0: the bill by rowid) and its article rows (rowid = -article_texts.rowid)."""
    order = "order by current_stage_on desc, bill_no"
    query = index_query(conn, needle) if has_table(conn, SEARCH_INDEX) else None
    if query is None:
        return f"select bill_no from bills where bill_no in (select bill_no from article_texts) {order}", []
    if not query:
        return "select bill_no from bills where 0", []
    hits = f"select rowid from {SEARCH_INDEX} where {SEARCH_INDEX} match ?"
    return (
        f"select bill_no, current_stage_on from bills "
        f"where rowid in (select rowid % {ROWID_SPAN} from ({hits}) where rowid > 0) "
        "union select b.bill_no, b.current_stage_on from bills b where b.bill_no in (select a.bill_no "
        f"from article_texts a where a.rowid in (select -rowid from ({hits}) where rowid < 0)) "
        f"{order}",
        [query, query],
    )


def verified(
    conn: sqlite3.Connection, ordered: sqlite3.Cursor, needle: str, forms: list[str] | None, limit: int
) -> list[str]:
    """The first `limit` candidates (in their order) that a search text (search_texts: a keyed
    bill's title, 案由 or article text) really contains the needle of: a page shows 100 bills, so a
    broad word checks a few hundred bills, not 50,000."""
    if forms is None:
        check, params = (
            "select bill_no from search_texts where bill_no in ({marks}) and instr(key, ?) > 0",
            [needle],
        )
    else:
        found = " or ".join("instr({col}, ?) > 0" for _ in forms)
        check = (
            "select b.bill_no from bills b join article_texts a on a.bill_no = b.bill_no "
            "where b.bill_no in ({marks}) and ("
            + " or ".join(f"({found.format(col=col)})" for col in ("b.title", "b.reason", "a.text"))
            + ")"
        )
        params = forms * 3
    chosen: list[str] = []
    # First as many as the page shows (most candidates of a common word are hits), then more at a time.
    size = limit
    while len(chosen) < limit and (chunk := [r[0] for r in ordered.fetchmany(size)]):
        size = VERIFY_CHUNK
        sql = check.format(marks=",".join("?" * len(chunk)))
        found_nos = {r[0] for r in conn.execute(sql, [*chunk, *params])}
        chosen += [b for b in chunk if b in found_nos][: limit - len(chosen)]
    return chosen


# A keyed bill's search texts as the search_texts view has them, without the keys.
TEXTS = (
    "select b.bill_no, 'title' as field, b.title as text from bills b join article_texts a using (bill_no) "
    "where b.bill_no in ({marks}) and b.title <> '' "
    "union all select b.bill_no, 'reason', b.reason from bills b join article_texts a using (bill_no) "
    "where b.bill_no in ({marks}) and b.reason <> '' "
    "union all select bill_no, 'articles', text from article_texts where bill_no in ({marks}) and text <> ''"
)


def search(conn: sqlite3.Connection, q: str, limit: int = 100) -> list[dict[str, Any]]:
    """Bills matching q in any field, latest current stage first, each with its matching fields.

    The page's bills are chosen and ordered in SQL first, and only their texts are read for the
    snippets: at LYAPI scale a broad word (組織法) matches ~50,000 texts, and reading and snipping
    every one of them took 7 s for a page that shows 100 bills."""
    needle = search_key(q.strip())
    if not needle or not has_table(conn, "article_texts"):
        return []
    register_functions(conn)  # the search_texts view keys titles and 案由 as it reads them
    forms = text_spellings(needle)
    ordered = conn.execute(*candidates(conn, needle))
    chosen = verified(conn, ordered, needle, forms, limit)
    ordered.close()
    by_no = {
        b["bill_no"]: b
        for b in rows(
            conn,
            "select bill_no, title, term, proposer_text, current_stage, current_stage_label, "
            f"current_stage_on from bills where bill_no in ({','.join('?' * len(chosen))})",
            chosen,
        )
    }
    bills = [by_no[b] for b in chosen]
    if not bills:
        return []
    marks = ",".join("?" * len(bills))
    numbers = [b["bill_no"] for b in bills]
    matches: dict[str, list[dict[str, Any]]] = {}
    for h in rows(conn, TEXTS.format(marks=marks), numbers * 3):
        at = first_hit(h["text"], needle, forms)
        if at < 0:
            continue
        matches.setdefault(h["bill_no"], []).append(
            {
                "field": h["field"],
                "label": FIELD_LABELS.get(h["field"], h["field"]),
                "snippet": snippet(h["text"], at, needle),
            }
        )
    for b in bills:
        b["matches"] = sorted(
            matches.get(b["bill_no"], []), key=lambda m: list(FIELD_LABELS).index(m["field"])
        )
    return bills
