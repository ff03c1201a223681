"""The bills full-text index is re-indexed only when its text changes.

Applied in the order pipelines/schema/__init__.py's MIGRATIONS lists.
"""

from __future__ import annotations

import sqlite_utils


def reindex_bill_text_only_when_it_changes(db: sqlite_utils.Database) -> None:
    """bills_fts holds title and reason only, but sqlite-utils' trigger re-indexed a bill on every
    UPDATE of any column: reconcile sets `sources` (and the store the current stage) on every bill
    of a backfill, and each trigram re-index cost ~0.4 ms a bill. Same index content, fewer writes
    (as bills_recent_fts_au in pipelines/schema/api.py)."""
    db.execute('DROP TRIGGER IF EXISTS "bills_au"')
    db.execute(
        'CREATE TRIGGER "bills_au" AFTER UPDATE ON "bills"\n'
        '  WHEN old."title" IS NOT new."title" OR old."reason" IS NOT new."reason"'
        " OR old.rowid != new.rowid\n"
        "BEGIN\n"
        '  INSERT INTO "bills_fts" ("bills_fts", rowid, "title", "reason")'
        ' VALUES(\'delete\', old.rowid, old."title", old."reason");\n'
        '  INSERT INTO "bills_fts" (rowid, "title", "reason")'
        ' VALUES (new.rowid, new."title", new."reason");\n'
        "END"
    )
