"""The schema: the one ordered list of migrations, and open_db.

MIGRATIONS is the order a fresh database applies them in (tests/test_migrations.py pins it);
before, the order followed the order modules happened to be imported in. Each entry is (stored
name, function). The stored name is the row sqlite-utils writes to `_sqlite_migrations`, the
identity of an applied migration in every existing database, so it never changes, even where it
records the issue that added it; the function, in the schema_* module of the tables it touches,
says what it does. Add a new migration at the end; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

from pipelines.schema import (
    alerts,
    api,
    articles,
    backfill,
    core,
    corrections,
    evidence,
    fts,
    history,
    moj,
    problems,
    runs,
    sources,
)
from pipelines.schema.functions import register_functions

MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("m001_core", core.create_core_tables),
    ("m002_search", core.index_bill_text),
    ("m003_problem_recurrence", core.count_problem_recurrence),
    ("m005_bill_law_codes", core.add_bill_law_codes),
    ("i5_articles", articles.create_article_tables),
    ("i11_backfill_ledger", backfill.create_backfill_ledger),
    ("i6_bills_fts_update_of_text", fts.reindex_bill_text_only_when_it_changes),
    ("i4_scrape_runs", history.create_scrape_runs),
    ("i4_history", history.create_history_tables),
    ("i4_watches", history.create_watches),
    ("i4_change_kinds", history.create_change_kinds),
    ("m004_moj_laws", moj.create_moj_law_tables),
    ("i10_law_version_export", moj.add_law_version_export_day),
    ("i3_sources", sources.create_source_tables),
    ("i3_lis_law_versions", sources.create_lis_law_versions),
    ("i10_corrections", corrections.create_corrections),
    ("i10_evidence", evidence.add_evidence_columns),
    ("i10_problem_key", problems.key_problems_without_url_origin),
    ("i10_problem_resolved", problems.add_problem_resolved_at),
    ("i11_missed_requests", runs.create_missed_requests),
    ("i6_law_bills_last_on", api.keep_law_bills_last_on),
    ("i6_bills_recent_fts", api.create_recency_search_index),
    ("i14_webhooks", alerts.create_webhook_tables),
    ("i14_digests", alerts.create_digest_sends),
    ("i12_one_search_index", fts.keep_one_search_index),
    ("i14_unsubscribes", alerts.create_unsubscribes),
    ("i12_search_texts_from_bills", articles.read_search_texts_from_bills),
    ("i12_bill_versions_packed", history.pack_bill_versions),
]

migrations = Migrations("billtracker")
for _name, _apply in MIGRATIONS:
    migrations(name=_name)(_apply)


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) and migrate; WAL so Datasette reads while a crawl writes. The
    views' SQL functions are registered first (pipelines/schema/functions.py)."""
    db = sqlite_utils.Database(path)
    register_functions(db.conn)
    db.enable_wal()
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute("PRAGMA foreign_keys = ON")
    migrations.apply(db)
    return db
