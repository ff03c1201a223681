"""Dates as published (ISO, ROC '105/11/11', '1051111', '105年11月11日') -> ISO calendar days.

No library parses all ROC forms, so this is the ~10-line function DESIGN.md promised. Year + 1911.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_ROC_SEP = re.compile(r"^(\d{2,3})[/.\-年](\d{1,2})[/.\-月](\d{1,2})日?$")
_ROC_PACKED = re.compile(r"^(\d{2,3})(\d{2})(\d{2})$")
_GREGORIAN_PACKED = re.compile(r"^(\d{4})(\d{2})(\d{2})$")  # MOJ's LawModifiedDate 20230426


class BadDate(ValueError):
    """A date string that is neither ISO nor a ROC date, or names a day that does not exist."""


@lru_cache(maxsize=8192)  # a backfill parses ~1,000,000 dates: ~5,000 distinct days, each many times
def parse_date(text: str | None) -> str | None:
    """Return 'YYYY-MM-DD', None for an empty value, or raise BadDate saying what was wrong."""
    value = (text or "").strip()
    if not value:
        return None
    if m := (_ISO.match(value) or _GREGORIAN_PACKED.match(value)):
        year, month, day = (int(g) for g in m.groups())
    elif m := (_ROC_SEP.match(value) or _ROC_PACKED.match(value)):
        roc_year, month, day = (int(g) for g in m.groups())
        year = roc_year + 1911
    else:
        raise BadDate(f"not a date: {value!r}")
    try:
        return date(year, month, day).isoformat()
    except ValueError as exc:
        raise BadDate(f"no such day: {value!r} ({exc})") from None
