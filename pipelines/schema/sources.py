"""Source tables: every source's own reading of a bill, the reconciled links between them,
and the ledger of what they disagree on. Registered on the one Migrations set."""

from __future__ import annotations

import sqlite_utils

from pipelines.schema.core import PROVENANCE


def create_source_tables(db: sqlite_utils.Database) -> None:
    # One row per (source, key): what that source says about the bill, as published.
    db["source_bills"].create(
        {
            "source": str,  # ppg | opendata | lis
            "source_key": str,  # billNo, or 提案編號 for lis
            "bill_no": str,  # resolved by reconcile when the source carries none
            "term": int,
            "proposal_no": str,
            "title": str,
            "status_raw": str,
            "status_stage": str,  # slug of status_raw (scrapers/stages.py)
            "status_on": str,
            "filed_on": str,
            "proposers": str,  # JSON list as published
            "cosponsors": str,  # JSON list as published
            "related": str,  # JSON list of {bill_no, title}
            "record": str,  # the source's own record, JSON
            **PROVENANCE,
            "record_sha256": str,
            "first_seen_at": str,
            "updated_at": str,
        },
        pk=("source", "source_key"),
    )
    # The dated stage events a secondary source lists (ppg's 議案流程, lis' latest 進度).
    db["source_stages"].create(
        {
            "source": str,
            "source_key": str,
            "seq": int,
            "stage": str,
            "status_raw": str,
            "on": str,
            "second_on": str,
            "venue": str,
            "session_code": str,
            **PROVENANCE,
        },
        pk=("source", "source_key", "seq"),
    )
    # Every source that reports a stage event, with the URL it came from.
    db["stage_sources"].create(
        {
            "bill_no": str,
            "seq": int,  # stages.seq
            "source": str,
            "status_raw": str,  # the source's own wording for this event
            "role": str,  # stored (the row's own source) | confirms | evidence (for derived rows)
            "note": str,
            **PROVENANCE,
        },
        pk=("bill_no", "seq", "source"),
    )
    db["disagreements"].create(
        {
            "id": int,
            "bill_no": str,
            "field": str,  # status | title | filed_on | sponsors | stage:<slug>
            "summary": str,  # "lyapi: 排入院會 | opendata: 交付審查"
            "readings": str,  # JSON [{source, value, source_url, fetched_at}]
            "chosen_source": str,  # by pipelines/reconcile/precedence.py
            "chosen_value": str,
            "readings_sha256": str,
            "detected_at": str,
            "last_seen_at": str,
            "superseded_at": str,  # the sources changed their readings: kept, no longer current
        },
        pk="id",
    )
    db["disagreements"].create_index(["bill_no", "field", "readings_sha256"], unique=True)
    db["disagreements"].create_index(["detected_at"])
    # 併案: a committee's merged-review report (billNo digits 8-11 "0703") and the proposals it merges.
    db["merged_reviews"].create(
        {
            "report_bill_no": str,
            "bill_no": str,
            "report_title": str,
            "evidence": str,  # 關連議案 of <bill> | report title names <proposer>
            "source_url": str,
        },
        pk=("report_bill_no", "bill_no"),
    )
    db["legislators"].create(
        {
            "id": str,  # person key (pipelines/normalise/names.py): 鄭天財Sra．Kacaw -> 鄭天財
            "name": str,  # the roster's spelling
            "ename": str,
            "aliases": str,  # JSON list of every spelling seen
            "party": str,
            "terms": str,  # JSON list of terms served
            "source": str,
            **PROVENANCE,
        },
        pk="id",
    )
    db["law_histories"].create(
        {
            "law_code": str,
            "seq": int,
            "law_name": str,
            "progress": str,  # 進度 (一讀, 三讀, ...)
            "stage": str,
            "meeting_on": str,  # 會議日期
            "gazette_ref": str,  # 立法紀錄: 105卷73期4370號 5-5頁
            "gazette_url": str,
            "proposer": str,
            "documents": str,  # JSON [[name, url]]
            "source": str,
            **PROVENANCE,
        },
        pk=("law_code", "seq"),
    )
    db["sponsors"].add_column("legislator_id", str)
    db["bills"].add_column("sources", str)  # JSON list of every source that lists the bill
    for table, cols in {
        "source_bills": ["bill_no"],
        "stage_sources": ["source"],
        "merged_reviews": ["bill_no"],
    }.items():
        db[table].create_index(cols)


def create_lis_law_versions(db: sqlite_utils.Database) -> None:
    """lis' list of a law's versions ("中華民國106年6月14日公布"): promulgation evidence second to
    MOJ's 沿革 (law_versions), and the only one for laws MOJ's samples do not cover."""
    db["lis_law_versions"].create(
        {
            "law_code": str,
            "seq": int,
            "law_name": str,
            "text_raw": str,  # 中華民國106年6月14日公布
            "action": str,  # 制定 | 修正 | 廢止 | 公布
            "on": str,
            "source": str,
            **PROVENANCE,
        },
        pk=("law_code", "seq"),
    )
