"""The serving schema: what lets `law_bills` and `search` answer in milliseconds at 150k bills.

Both are kept up to date by SQLite TRIGGERS, not by the writers: any code that writes `stages`,
`bill_laws` or `bills` (the store, reconcile, a hand fix in the sqlite3 shell) keeps them right
without knowing they exist.

- `bill_laws.last_on`: the latest date of the bill's non-derived stages ('' when none), the sort
  key of `law_bills`. With the index (law_code, last_on desc, bill_no desc) a page of a law's bills
  is an index range, not a correlated max() per row and a sort of up to ~10,000 rows.
- `bills_recent_fts`: the bills' titles and 案由 in a contentless FTS5 trigram index whose rowid is a
  recency key (`recency_key`): newest filing date first. FTS5 walks a match in rowid order, so
  `order by rowid desc limit 200` stops after 200 hits instead of sorting tens of thousands of
  組織法 titles. It maps back to the bill through the key's low digits (the bills rowid), which
  stays fixed because every writer upserts bills (never INSERT OR REPLACE; bills_fts needs the same).
  Since issue 12 the one search index, `bills_fts` (pipelines/schema/fts.py), is built this way and
  bills_recent_fts is dropped; `recency_key` and `indexed` serve it.
"""

from __future__ import annotations

import re

import sqlite_utils

# rowid of bills_recent_fts = YYYYMMDD of filed_on * ROWID_SPAN + bills.rowid. 10 million rowids is
# ~70 times every bill the Legislative Yuan has numbered since 1999 (LYAPI: 147,241).
ROWID_SPAN = 10_000_000


def recency_key(alias: str) -> str:
    """SQL for the recency key of the bills row `alias` (new, old or a table alias)."""
    return (
        f"(coalesce(cast(replace({alias}.filed_on, '-', '') as integer), 0) * {ROWID_SPAN} + {alias}.rowid)"
    )


def create_triggers(db: sqlite_utils.Database, script: str) -> None:
    """Each CREATE TRIGGER ... END; on its own: executescript would COMMIT the migration's transaction."""
    for statement in re.findall(r"CREATE TRIGGER .*?\bEND;", script, flags=re.S):
        db.execute(statement)


LAST_ON = (
    "coalesce((select max(s.\"on\") from stages s where s.bill_no = {bill} and s.origin != 'derived'), '')"
)


def keep_law_bills_last_on(db: sqlite_utils.Database) -> None:
    """bill_laws.last_on, its index, and the triggers that keep it equal to max(stages.on)."""
    db.execute("ALTER TABLE bill_laws ADD COLUMN last_on TEXT NOT NULL DEFAULT ''")
    db.execute(f"UPDATE bill_laws SET last_on = {LAST_ON.format(bill='bill_laws.bill_no')}")
    db.execute("CREATE INDEX idx_bill_laws_law_last_on ON bill_laws (law_code, last_on DESC, bill_no DESC)")
    recompute = "UPDATE bill_laws SET last_on = {last} WHERE bill_no = {bill};"
    create_triggers(
        db,
        f"""
        CREATE TRIGGER bill_laws_last_on_ai AFTER INSERT ON bill_laws BEGIN
          {recompute.format(last=LAST_ON.format(bill="new.bill_no"), bill="new.bill_no")}
        END;
        CREATE TRIGGER bill_laws_last_on_au AFTER UPDATE OF bill_no ON bill_laws BEGIN
          {recompute.format(last=LAST_ON.format(bill="new.bill_no"), bill="new.bill_no")}
        END;
        -- A new dated stage can only raise the maximum: no need to scan the bill's stages.
        CREATE TRIGGER stages_last_on_ai AFTER INSERT ON stages
        WHEN new.origin != 'derived' AND new."on" IS NOT NULL BEGIN
          UPDATE bill_laws SET last_on = new."on" WHERE bill_no = new.bill_no AND last_on < new."on";
        END;
        -- The store upserts every column of every stage on a crawl: recompute only on a real change.
        CREATE TRIGGER stages_last_on_au AFTER UPDATE ON stages
        WHEN old."on" IS NOT new."on" OR old.origin IS NOT new.origin OR old.bill_no IS NOT new.bill_no
        BEGIN
          {recompute.format(last=LAST_ON.format(bill="old.bill_no"), bill="old.bill_no")}
          {recompute.format(last=LAST_ON.format(bill="new.bill_no"), bill="new.bill_no")}
        END;
        CREATE TRIGGER stages_last_on_ad AFTER DELETE ON stages BEGIN
          {recompute.format(last=LAST_ON.format(bill="old.bill_no"), bill="old.bill_no")}
        END;
        """,
    )


def indexed(alias: str, column: str) -> str:
    """What bills_recent_fts indexes of a column: the text and two end marks (U+0003), so that every
    1-2 character substring, even at the very end, begins some trigram (see `search`)."""
    return f"coalesce({alias}.{column}, '') || char(3, 3)"


def create_recency_search_index(db: sqlite_utils.Database) -> None:
    """A trigram index of titles and 案由 keyed by recency, its vocabulary, and the triggers that
    keep it in step with bills."""
    db.execute(
        "CREATE VIRTUAL TABLE bills_recent_fts USING fts5(title, reason, tokenize='trigram', content='')"
    )
    # The index's trigrams: a 1-2 character query becomes an OR of the trigrams it begins.
    db.execute("CREATE VIRTUAL TABLE bills_recent_vocab USING fts5vocab(bills_recent_fts, 'row')")
    db.execute(
        f"INSERT INTO bills_recent_fts (rowid, title, reason) SELECT {recency_key('b')}, "
        f"{indexed('b', 'title')}, {indexed('b', 'reason')} FROM bills b"
    )
    # law_bills resolves a law name to its codes (交通部公路總局組織法 has two).
    db.execute("CREATE INDEX IF NOT EXISTS idx_laws_name ON laws (name)")
    new_key, old_key = recency_key("new"), recency_key("old")
    insert = (
        "INSERT INTO bills_recent_fts (rowid, title, reason) "
        f"VALUES ({new_key}, {indexed('new', 'title')}, {indexed('new', 'reason')});"
    )
    delete = (
        "INSERT INTO bills_recent_fts (bills_recent_fts, rowid, title, reason) "
        f"VALUES ('delete', {old_key}, {indexed('old', 'title')}, {indexed('old', 'reason')});"
    )
    create_triggers(
        db,
        f"""
        CREATE TRIGGER bills_recent_fts_ai AFTER INSERT ON bills BEGIN
          {insert}
        END;
        CREATE TRIGGER bills_recent_fts_ad AFTER DELETE ON bills BEGIN
          {delete}
        END;
        -- Re-index only what the index holds: most bill updates change a stage, not the text.
        CREATE TRIGGER bills_recent_fts_au AFTER UPDATE ON bills
        WHEN old.title IS NOT new.title OR old.reason IS NOT new.reason
          OR old.filed_on IS NOT new.filed_on OR old.rowid != new.rowid
        BEGIN
          {delete}
          {insert}
        END;
        """,
    )
