"""Tables for law.moj.gov.tw: versions from 沿革 and article text per export snapshot."""

from __future__ import annotations

import sqlite_utils

from pipelines.schema.core import PROVENANCE


def create_moj_law_tables(db: sqlite_utils.Database) -> None:
    db["laws"].add_column("moj_pcode", str)
    db["law_versions"].create(
        {
            "pcode": str,
            "seq": int,  # 沿革 entry number
            "law_code": str,  # LY law code, matched by name
            "law_name": str,
            "promulgated_on": str,
            "action": str,  # 制定 | 修正 | 增訂 | 刪除 | 廢止
            "scope": str,  # 全文 15 條 | 第 3、4、15 條
            "text_raw": str,  # the 沿革 entry as published (continuation lines joined)
            "source": str,
            **PROVENANCE,
        },
        pk=("pcode", "seq"),
    )
    db["law_articles"].create(
        {
            "pcode": str,
            "snapshot_on": str,  # the export's LawModifiedDate / 最新異動日期: text in force from then
            "seq": int,
            "law_code": str,
            "law_name": str,
            "article_no": str,  # as published: 第 6 條
            "article_key": str,  # sortable: 0006-00, 0012-03
            "article_type": str,  # A article | C chapter heading
            "text": str,
            "source": str,
            **PROVENANCE,
        },
        pk=("pcode", "snapshot_on", "seq"),
    )
    db["law_articles"].create_index(["law_code", "article_key"])


def add_law_version_export_day(db: sqlite_utils.Database) -> None:
    """law_versions.export_on: the modification date of the export a version was read from, so
    two exports that word one 沿革 entry differently (公布 / 發布) resolve to the newer one,
    whichever arrives last."""
    db["law_versions"].add_column("export_on", str)
