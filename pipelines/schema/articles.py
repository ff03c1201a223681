"""Amended articles (from 對照表 or titles) and search keys."""

from __future__ import annotations

import sqlite_utils

from pipelines.schema.core import PROVENANCE


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
