"""Search keys that ignore Traditional/Simplified: every character mapped through OpenCC's t2s.

Character by character on purpose: phrase-level conversion rewrites words (a query that cuts a
phrase in two would then convert differently from the text it is cut from), while a per-character
map gives a substring of the text the same key as the text's own substring. Stored text stays
as published; only the `search_texts.key` column is converted.
"""

from __future__ import annotations

from typing import Any

import opencc

_T2S = opencc.OpenCC("t2s")


class _CharMap(dict[int, str]):
    """code point -> its t2s character (itself when t2s gives more or less than one), filled on
    first sight: a str.translate table, so a text is converted in one C call."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = _T2S.convert(ch)
        self[code] = mapped = out if len(out) == 1 else ch
        return mapped


_CHARS = _CharMap()


def search_key(text: str | None) -> str:
    """'行政院資訊總處' -> '行政院资讯总处'; Simplified input maps to itself."""
    return (text or "").translate(_CHARS)


def article_text(articles: list[dict[str, Any]]) -> str | None:
    """A bill's articles as one searchable text (None when they have none): each article's
    number, text, the text in force and the explanation."""
    text = "\n".join(
        part
        for a in articles
        for part in (a.get("article_no"), a.get("text"), a.get("current"), a.get("explanation"))
        if part
    )
    return text or None


def search_rows(bill: dict[str, Any], articles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per searchable field of a bill (title, 案由, the text of its articles), as the
    search_texts table of a database from before i12_search_texts_from_bills holds them."""
    fields = {"title": bill.get("title"), "reason": bill.get("reason"), "articles": article_text(articles)}
    return [
        {"bill_no": bill["bill_no"], "field": name, "text": value, "key": search_key(value)}
        for name, value in fields.items()
        if value
    ]
