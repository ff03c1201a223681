"""The backfill ledger, so a killed backfill resumes without refetching finished pages.

`backfill_plans`: one row per planned backfill (its top-level queries, page size and window,
what planning found). `backfill_pages`: every list page the plan asks for, one row each, keyed
by the leaf query's JSON; `done_at` is written in the same store transaction as the page's bills,
so a page is marked done exactly when its bills are committed.
"""

from __future__ import annotations

import sqlite_utils


def create_backfill_ledger(db: sqlite_utils.Database) -> None:
    db["backfill_plans"].create(
        {
            "id": int,
            "created_at": str,
            "base_url": str,  # the API planned against (the replay's port changes per run)
            "queries": str,  # JSON list of the top-level queries, as given
            "page_limit": int,  # TW_LY_PAGE_LIMIT the pages were counted at: the crawl must match
            "window": int,  # TW_LY_RESULT_WINDOW the leaves were split to fit
            "status": str,  # planning | planned | done | abandoned
            "leaves": int,  # leaf queries after splitting
            "pages": int,
            "bills_expected": int,  # sum of the leaves' totals when planned
            "planned_at": str,
            "finished_at": str,
        },
        pk="id",
    )
    db["backfill_pages"].create(
        {
            "plan_id": int,
            "query": str,  # the leaf query's JSON (scrapers.tw_ly.window Query)
            "page": int,
            "pages": int,  # the leaf's page count when planned (or when its total grew)
            "total": int,  # the leaf's total when planned; the last total seen once fetched
            "added_at": str,
            "done_at": str,
            "run_id": int,  # the scrape_runs row of the crawl that stored the page
        },
        pk=("plan_id", "query", "page"),
        foreign_keys=[("plan_id", "backfill_plans", "id")],
    )
    db["backfill_pages"].create_index(["plan_id", "done_at"], index_name="idx_backfill_pages_done")
