"""The bills' one full-text index, and how it came to be one.

Applied in the order pipelines/schema/__init__.py's MIGRATIONS lists: the first function is history (it
tuned an index the last one replaces); `keep_one_search_index` is what a database has now.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.schema.api import create_triggers, indexed, recency_key


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


# The one index's own names. `bills_fts` is the name Datasette users and earlier code knew for the
# bills' full-text index; its rowid is now the recency key of pipelines/schema/api.py (as
# bills_recent_fts had), so a row maps to its bill by `rowid % ROWID_SPAN`.
SEARCH_INDEX = "bills_fts"
SEARCH_VOCAB = "bills_fts_vocab"
# What the three indexes before it left behind: virtual tables and the triggers that fed them.
RETIRED_TABLES = ("bills_recent_vocab", "bills_recent_fts", "bills_fts", "search_texts_fts")
RETIRED_TRIGGERS = (
    "bills_ai",
    "bills_ad",
    "bills_au",
    "bills_recent_fts_ai",
    "bills_recent_fts_ad",
    "bills_recent_fts_au",
    "search_texts_ai",
    "search_texts_ad",
    "search_texts_au",
)


def keep_one_search_index(db: sqlite_utils.Database) -> None:
    """One trigram index instead of three (issue 12): `bills_fts`, the titles and 案由 keyed by
    recency (and the articles' text under negative rowids), serves the API's search, Datasette's
    table search (billtracker/serve/plugins/pages.py maps its rows to bills) and the staffers' search
    page (billtracker/serve/read/search.py, which finds Traditional and Simplified alike by asking for every
    spelling). bills_fts (rowid = bills.rowid), bills_recent_fts (the same text keyed by recency)
    and search_texts_fts (the t2s keys of the same text and of the articles) were 51.9 MB of a
    140 MB ly-term9 database, and each cost the writers a trigram re-index per bill."""
    for trigger in RETIRED_TRIGGERS:
        db.execute(f'DROP TRIGGER IF EXISTS "{trigger}"')
    for table in RETIRED_TABLES:
        db.execute(f'DROP TABLE IF EXISTS "{table}"')
    db.execute(
        f"CREATE VIRTUAL TABLE {SEARCH_INDEX} USING fts5(title, reason, tokenize='trigram', content='')"
    )
    # The index's trigrams: a 1-2 character query becomes an OR of the trigrams it begins.
    db.execute(f"CREATE VIRTUAL TABLE {SEARCH_VOCAB} USING fts5vocab({SEARCH_INDEX}, 'row')")
    db.execute(
        f"INSERT INTO {SEARCH_INDEX} (rowid, title, reason) SELECT {recency_key('b')}, "
        f"{indexed('b', 'title')}, {indexed('b', 'reason')} FROM bills b"
    )
    new_key, old_key = recency_key("new"), recency_key("old")
    insert = (
        f"INSERT INTO {SEARCH_INDEX} (rowid, title, reason) "
        f"VALUES ({new_key}, {indexed('new', 'title')}, {indexed('new', 'reason')});"
    )
    delete = (
        f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rowid, title, reason) "
        f"VALUES ('delete', {old_key}, {indexed('old', 'title')}, {indexed('old', 'reason')});"
    )
    create_triggers(
        db,
        f"""
        CREATE TRIGGER {SEARCH_INDEX}_ai AFTER INSERT ON bills BEGIN
          {insert}
        END;
        CREATE TRIGGER {SEARCH_INDEX}_ad AFTER DELETE ON bills BEGIN
          {delete}
        END;
        -- Re-index only what the index holds: most bill updates change a stage, not the text.
        CREATE TRIGGER {SEARCH_INDEX}_au AFTER UPDATE ON bills
        WHEN old.title IS NOT new.title OR old.reason IS NOT new.reason
          OR old.filed_on IS NOT new.filed_on OR old.rowid != new.rowid
        BEGIN
          {delete}
          {insert}
        END;
        """,
    )
    # Article text (the search page finds it too) as rows of their own under negative rowids:
    # -search_texts.rowid, kept by triggers on search_texts. A negative rowid maps to no bill, so the
    # API (rowid > 0) and Datasette's table search (rowid % ROWID_SPAN) never see them, and a bill's
    # own row never waits for its articles.
    article = "new.field = 'articles'"
    add = (
        f"INSERT INTO {SEARCH_INDEX} (rowid, title, reason) "
        f"VALUES (-new.rowid, '', {indexed('new', 'text')});"
    )
    remove = (
        f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rowid, title, reason) "
        f"VALUES ('delete', -old.rowid, '', {indexed('old', 'text')});"
    )
    db.execute(
        f"INSERT INTO {SEARCH_INDEX} (rowid, title, reason) SELECT -s.rowid, '', {indexed('s', 'text')} "
        "FROM search_texts s WHERE s.field = 'articles'"
    )
    db.execute(f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}) VALUES ('optimize')")
    create_triggers(
        db,
        f"""
        CREATE TRIGGER search_texts_{SEARCH_INDEX}_ai AFTER INSERT ON search_texts WHEN {article} BEGIN
          {add}
        END;
        CREATE TRIGGER search_texts_{SEARCH_INDEX}_ad AFTER DELETE ON search_texts
        WHEN old.field = 'articles' BEGIN
          {remove}
        END;
        CREATE TRIGGER search_texts_{SEARCH_INDEX}_au AFTER UPDATE ON search_texts
        WHEN old.field = 'articles' OR {article} BEGIN
          INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rowid, title, reason)
            SELECT 'delete', -old.rowid, '', {indexed("old", "text")} WHERE old.field = 'articles';
          INSERT INTO {SEARCH_INDEX} (rowid, title, reason)
            SELECT -new.rowid, '', {indexed("new", "text")} WHERE {article};
        END;
        """,
    )


def article_index_triggers() -> str:
    """The triggers that keep the articles' text in the index under negative rowids
    (-article_texts.rowid): article_texts took over from the search_texts table
    (pipelines/schema/articles.py) with the same rows and rowids, so the index is left as it is."""
    text = "{row}.text <> ''"
    add = (
        f"INSERT INTO {SEARCH_INDEX} (rowid, title, reason) "
        f"VALUES (-new.rowid, '', {indexed('new', 'text')});"
    )
    remove = (
        f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rowid, title, reason) "
        f"VALUES ('delete', -old.rowid, '', {indexed('old', 'text')});"
    )
    return f"""
        CREATE TRIGGER article_texts_{SEARCH_INDEX}_ai AFTER INSERT ON article_texts
        WHEN {text.format(row="new")} BEGIN
          {add}
        END;
        CREATE TRIGGER article_texts_{SEARCH_INDEX}_ad AFTER DELETE ON article_texts
        WHEN {text.format(row="old")} BEGIN
          {remove}
        END;
        CREATE TRIGGER article_texts_{SEARCH_INDEX}_au AFTER UPDATE ON article_texts
        WHEN old.text IS NOT new.text OR old.rowid != new.rowid BEGIN
          INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rowid, title, reason)
            SELECT 'delete', -old.rowid, '', {indexed("old", "text")} WHERE {text.format(row="old")};
          INSERT INTO {SEARCH_INDEX} (rowid, title, reason)
            SELECT -new.rowid, '', {indexed("new", "text")} WHERE {text.format(row="new")};
        END;
        """
