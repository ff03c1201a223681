"""Settings profiles: named sets of Scrapy settings for jobs that are not the polite default.

BULK is for a backfill from a local mirror or the replay (never the live API: it drops the
1-3 s politeness delay). Measured in bench/bench_backfill.py; each value says why.
"""

from __future__ import annotations

from scrapers.tw_ly.bills import WHOLE_RECORD_FIELDS

BULK: dict[str, str] = {
    # The replay answers in ~1 ms: keep enough requests in flight to hide Scrapy's per-request latency.
    "CONCURRENT_REQUESTS": "32",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "32",
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    # 1,000 bills per list page (the API's maximum) instead of 100: 150 list requests, not 1,500.
    "TW_LY_PAGE_LIMIT": "1000",
    # Whole records in the list (output_fields): no detail request per bill. The per-request cost
    # of the engine was ~55% of the crawl's CPU with one detail per bill (cProfile, 1,500 bills).
    "TW_LY_LIST_FIELDS": ",".join(WHOLE_RECORD_FIELDS),
    # One transaction per 500 items instead of one fsync'd commit per item (pipelines/store/pipeline.py).
    "BILLTRACKER_BATCH_ITEMS": "500",
    # The store in its own process (pipelines/store/writer_process.py): Scrapy and the store each
    # get a core instead of sharing one.
    "BILLTRACKER_STORE_PROCESS": "True",
    # Scrapy runs each response's output through CONCURRENT_ITEMS (default 100) asyncio worker
    # tasks; our pipeline is synchronous, so 100 tasks per response were pure overhead (profile:
    # 225,000 tasks for 2,200 responses).
    "CONCURRENT_ITEMS": "4",
    "COOKIES_ENABLED": "False",
    "LOGSTATS_INTERVAL": "30",
}

# A BULK backfill's rate in bills stored per second, what `billtracker backfill` estimates a mirror
# by: `bench/bench_backfill.py --bills 150000` (plan, crawl, reconcile; replay in its own process,
# 2 cores) measured 620 and 598 on 2026-12-02 (241.8 and 250.8 s) with the store in its own
# process; the lower is the estimate. Issue 11 asks for at least 583 (docs/benchmarks.md).
BULK_BILLS_PER_SECOND = 598
