"""The spiders billtracker runs, in crawl order, and what the replay can answer."""

from __future__ import annotations

from typing import Any

# Name -> what it fetches. `billtracker crawl` with no names runs all of them in this order.
SPIDERS: dict[str, str] = {
    "tw_ly_bills": "ly.govapi.tw v2: bills with 議案流程, sponsors, laws, 關連議案",
    # After tw_ly_bills: MOJ laws are linked to LY law codes by name.
    "tw_law_moj": "law.moj.gov.tw: law text by article and 沿革 (promulgations)",
    "tw_ly_ppg": "ppg.ly.gov.tw: the official bill list and detail pages (authority for stages)",
    "tw_ly_opendata": "data.ly.gov.tw: dataset 20 議案提案 (latest status), dataset 9 委員名單",
    "tw_ly_lis": "lis.ly.gov.tw (via mirrors): 立法歷程 of laws, bill 進度 by 提案編號",
    "tw_ly_legislators": "ly.govapi.tw v2: legislator rosters per term (names across spellings)",
}


def replay_queries() -> list[dict[str, Any]]:
    """The replay holds the 9th-term sample bills and one 11th-term capture: list both terms."""
    return [{"屆": 9}, {"屆": 11}]


def source_replay_settings(base_url: str) -> dict[str, str]:
    """Point ppg, open data and lis at the replay; it holds 9th-term records and five lis laws."""
    return {
        "TW_LY_PPG_BASE": base_url,
        "TW_LY_PPG_TERMS": "9",
        "TW_LY_OPENDATA_BASE": base_url,
        "TW_LY_LIS_BASE": base_url,
        "TW_LY_LIS_LAWS": "01011,01021,01050,01073,04401",
        "TW_LY_LEGISLATOR_TERMS": "11",  # the only term the captured legislators cover
    }
