"""What each replay path stands for upstream, for BILLTRACKER_UPSTREAM (scrapers/settings.py).

The replay serves every host from one origin under the host's own path, so a replay URL is the
upstream URL with the origin swapped; the MOJ slices are the exception (moj.py names theirs).
A record crawled from the replay keeps the upstream URL as its source link: the demo's pages must
not point at a 127.0.0.1 that is gone. What was actually requested stays in `fetches`.
"""

from __future__ import annotations

from .moj import moj_upstream

# Replay path prefix -> the upstream base it is served under (scrapers/settings.py's defaults).
PREFIXES: dict[str, str] = {
    "/v2/": "https://ly.govapi.tw/v2/",  # LYAPI: bills, laws, legislators
    "/ppg/": "https://ppg.ly.gov.tw/ppg/",  # ppg bill list and detail pages
    "/odw/": "https://data.ly.gov.tw/odw/",  # open data downloads (datasets 20, 9)
    "/kong0107/": "https://raw.githubusercontent.com/kong0107/",  # lis mirror: 立法歷程
    "/thewayiam/": "https://raw.githubusercontent.com/thewayiam/",  # lis mirror: bills_9
}


def upstream_map(base_url: str) -> dict[str, str]:
    """Replay URL prefix -> upstream URL prefix for a replay served at `base_url`."""
    return {f"{base_url}{path}": upstream for path, upstream in PREFIXES.items()} | moj_upstream(base_url)
