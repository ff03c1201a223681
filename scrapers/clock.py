"""The clock: what time it is (UTC, for timestamps) and what day it is (Asia/Taipei, for stages).

One home for both, under scrapers/ because spiders stamp fetches and pipelines stamp rows, and
pipelines may import scrapers but not the other way round.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")


def utc_now() -> str:
    """Now in UTC, to the second, as stored in every *_at column (2026-12-02T01:23:45Z)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def taipei_today(frozen: str | None = "") -> date:
    """Calendar days are Asia/Taipei days; tests freeze the clock with BILLTRACKER_TODAY."""
    return date.fromisoformat(frozen) if frozen else datetime.now(TAIPEI).date()
