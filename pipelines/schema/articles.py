"""Amended articles (from 對照表 or titles) and search keys."""

from __future__ import annotations

import sqlite_utils

from pipelines.schema.api import create_triggers
from pipelines.schema.core import PROVENANCE
from pipelines.schema.fts import article_index_triggers


def create_article_tables(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "bill_no": str,
            "seq": int,  # order in the bill's 對照表 (or title)
            "law_code": str,
            "law_name": str,
            "kind": str,  # 立法種類 (修正條文, 增訂條文, 刪除條文, ...)
            "article_no": str,  # as published: 第十二條之三
            "article_main": int,  # 12
            "article_sub": int,  # 3
            "article_key": str,  # '0012-03': sorts like the law
            "version": str,  # proposed | committee | passed
            "header_raw": str,  # the column header the text came from (修正, 審查會通過條文, ...)
            "text": str,  # 修正: the version's text (NULL when only the title names the article)
            "current": str,  # 現行: the text in force, as the bill quotes it
            "explanation": str,  # 說明
            "extra": str,  # JSON of columns no rule knows
            "table_title": str,
            "law_content_id": str,
            "origin": str,  # table | title
            "note": str,
            "source": str,
            **PROVENANCE,
            "gone_at": str,
        },
        pk=("bill_no", "seq"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["articles"].create_index(["law_code", "article_key"])
    db["search_texts"].create(
        {"bill_no": str, "field": str, "text": str, "key": str},
        pk=("bill_no", "field"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["search_texts"].enable_fts(["key"], tokenize="trigram", create_triggers=True)


# The view's rows are what the store wrote to the search_texts table before: a bill's title and
# 案由 (now read from `bills`, keyed where read) and its articles' text (`article_texts`), for every
# bill the store has keyed, i.e. that has an `article_texts` row (its text NULL when it has none).
SEARCH_TEXTS_VIEW = """
CREATE VIEW search_texts AS
  SELECT NULL AS rowid, b.bill_no, 'title' AS field, b.title AS text, search_key(b.title) AS key
    FROM bills b JOIN article_texts a ON a.bill_no = b.bill_no WHERE b.title <> ''
  UNION ALL
  SELECT NULL, b.bill_no, 'reason', b.reason, search_key(b.reason)
    FROM bills b JOIN article_texts a ON a.bill_no = b.bill_no WHERE b.reason <> ''
  UNION ALL
  SELECT a.rowid, a.bill_no, 'articles', a.text, search_key(a.text)
    FROM article_texts a WHERE a.text <> ''
"""


def read_search_texts_from_bills(db: sqlite_utils.Database) -> None:
    """search_texts becomes a view: the title and 案由 it held were copies of `bills.title` and
    `bills.reason` and their t2s keys (4 KB of a 29 KB ly-term9 bill after VACUUM), and went stale
    when reconcile changed a title. The articles' text moves to `article_texts`, keeping its
    rowid, so the article rows of the search index (rowid = -that rowid) stay as they are. The
    view takes writes as the table did (INSTEAD OF triggers): an articles row writes
    article_texts; deleting a title or 案由 row un-keys the bill (the store keys it again)."""
    db.execute("CREATE TABLE article_texts (bill_no TEXT PRIMARY KEY REFERENCES bills(bill_no), text TEXT)")
    db.execute(
        "INSERT INTO article_texts (rowid, bill_no, text) "
        "SELECT rowid, bill_no, text FROM search_texts WHERE field = 'articles'"
    )
    db.execute(
        "INSERT INTO article_texts (bill_no, text) "
        "SELECT DISTINCT bill_no, NULL FROM search_texts WHERE field != 'articles' "
        "AND bill_no NOT IN (SELECT bill_no FROM article_texts)"
    )
    for trigger in ("search_texts_bills_fts_ai", "search_texts_bills_fts_ad", "search_texts_bills_fts_au"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE search_texts")
    db.execute(SEARCH_TEXTS_VIEW)
    create_triggers(
        db,
        """
        CREATE TRIGGER search_texts_insert INSTEAD OF INSERT ON search_texts BEGIN
          INSERT OR IGNORE INTO article_texts (bill_no, text) VALUES (new.bill_no, NULL);
          UPDATE article_texts SET text = new.text WHERE bill_no = new.bill_no AND new.field = 'articles';
        END;
        CREATE TRIGGER search_texts_update INSTEAD OF UPDATE ON search_texts
        WHEN old.field = 'articles' BEGIN
          UPDATE article_texts SET text = new.text WHERE bill_no = old.bill_no;
        END;
        CREATE TRIGGER search_texts_delete INSTEAD OF DELETE ON search_texts BEGIN
          UPDATE article_texts SET text = NULL WHERE bill_no = old.bill_no AND old.field = 'articles';
          DELETE FROM article_texts WHERE bill_no = old.bill_no AND old.field != 'articles';
        END;
        """,
    )
    create_triggers(db, article_index_triggers())
