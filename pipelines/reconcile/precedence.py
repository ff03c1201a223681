"""Which source wins, field by field: the one place this is written down.

A higher-ranked source's reading is what `bills` shows; every other reading that differs is
kept in `disagreements`, never overwritten silently. Why this order:
- ppg (議事暨公報資訊網) is the Legislative Yuan's own record of proceedings: the authority for
  stages and status. LYAPI (ly.govapi.tw) re-publishes the same pages with a lag; open data
  (dataset 20) is a daily list with only the latest status; lis is the law system, kept for
  laws after passage, and its bill 進度 lags most.
- Promulgation is the executive's act: the MOJ 全國法規資料庫 沿革 is its record, lis' law
  versions second.
- Titles and sponsors come from the bill's own page (ppg) first, then the structured API;
  open data pads names with U+3000 and lis shortens titles.
- A reviewed correction (billtracker/corrections.toml) outranks every source: reconcile applies
  it after this order has picked (pipelines/reconcile/corrections.py), so it is not a source listed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

PRECEDENCE: dict[str, tuple[str, ...]] = {
    "stages": ("ppg", "lyapi", "lis", "opendata"),
    "status": ("ppg", "lyapi", "opendata", "lis"),
    "title": ("ppg", "lyapi", "opendata", "lis"),
    "sponsors": ("ppg", "lyapi", "opendata", "lis"),
    "filed_on": ("ppg", "lyapi", "lis", "opendata"),
    "promulgated": ("moj", "lis"),
}

T = TypeVar("T")


def rank(field: str, source: str) -> int:
    """0 is best; a source not listed for the field ranks after every listed one."""
    order = PRECEDENCE[field]
    return order.index(source) if source in order else len(order)


def best(field: str, readings: Iterable[tuple[str, T]]) -> tuple[str, T] | None:
    """The (source, value) pair the field's precedence prefers, or None when there is none."""
    ranked = sorted(readings, key=lambda pair: rank(field, pair[0]))
    return ranked[0] if ranked else None
