"""The spiders billtracker runs, in crawl order, and what the replay can answer."""

from __future__ import annotations

from typing import Any

# Name -> what it fetches. `billtracker crawl` with no names runs all of them in this order.
SPIDERS: dict[str, str] = {
    "tw_ly_bills": "ly.govapi.tw v2: bills with 議案流程, sponsors, laws, 關連議案",
    # After tw_ly_bills: MOJ laws are linked to LY law codes by name.
    "tw_law_moj": "law.moj.gov.tw: law text by article and 沿革 (promulgations)",
}


def replay_queries() -> list[dict[str, Any]]:
    """The replay holds the 9th-term sample bills and one 11th-term capture: list both terms."""
    return [{"屆": 9}, {"屆": 11}]
