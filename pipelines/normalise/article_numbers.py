"""Article numbers of Taiwanese laws: 第十二條之三 -> (12, 3), sortable everywhere.

Bills write numbers in Chinese numerals (第一百三十條, 第六十三條之一), MOJ writes them in digits
with a hyphen (第 12-3 條): both become the same (main, sub) pair so a bill's article meets the
law's text. Pure functions, tested one spelling at a time.
"""

from __future__ import annotations

import re

DIGITS = {
    "〇": 0,
    "○": 0,  # U+25CB, as MOJ's 沿革 sometimes writes zero
    "零": 0,
    "一": 1,
    "二": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL = r"[0-9０-９〇○零一二三四五六七八九十百千兩]+"

# 第十二條之三, 第 12-3 條, 第12條之3, 第 6 條
ARTICLE_RE = re.compile(
    rf"第\s*(?P<main>{NUMERAL})\s*(?:-\s*(?P<dash>{NUMERAL})\s*)?條(?:\s*之\s*(?P<sub>{NUMERAL}))?"
)


def cn_int(text: str) -> int:
    """'十四' -> 14, '一百三十' -> 130, '二〇二三' -> 2023, '１２' -> 12.

    Raises ValueError for anything that is not a numeral."""
    text = text.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not text:
        raise ValueError("empty numeral")
    if text.isdigit():
        return int(text)
    if any(ch not in DIGITS and ch not in UNITS and not ch.isdigit() for ch in text):
        raise ValueError(f"not a numeral: {text!r}")
    if not any(ch in UNITS for ch in text):
        # Positional digits: 二〇二三
        return int("".join(ch if ch.isdigit() else str(DIGITS[ch]) for ch in text))
    total, num = 0, 0
    for ch in text:
        if ch in DIGITS:
            num = DIGITS[ch]
        elif ch in UNITS:
            total += (num or 1) * UNITS[ch]
            num = 0
        else:
            num = int(ch)
    return total + num


def parse_article(text: str) -> tuple[int, int] | None:
    """The first article number in `text` as (main, sub); None when there is none."""
    m = ARTICLE_RE.search(text or "")
    if not m:
        return None
    sub = m.group("sub") or m.group("dash")
    return cn_int(m.group("main")), (cn_int(sub) if sub else 0)


def article_key(main: int, sub: int = 0) -> str:
    """A text key that sorts like the law: 0012-00 < 0012-03 < 0013-00."""
    return f"{main:04d}-{sub:02d}"


def article_label(main: int, sub: int = 0) -> str:
    """(12, 3) -> '第 12-3 條' (MOJ's spelling, used where a bill gives no text of its own)."""
    return f"第 {main}-{sub} 條" if sub else f"第 {main} 條"


def split_article(cell: str) -> tuple[str, str]:
    """'第十四條　中華民國國民…' -> ('第十四條', '中華民國國民…'): the number as published and the
    body, for comparing the text of two versions without their numbers."""
    cell = cell or ""
    m = ARTICLE_RE.match(cell.lstrip())
    if not m:
        return "", cell.strip()
    stripped = cell.lstrip()
    return m.group(0), stripped[m.end() :].strip(" \u3000\t\r\n")
