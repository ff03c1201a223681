"""The core tables (bills, stages, sponsors, laws, problems, ...) and their first changes."""

from __future__ import annotations

import sqlite_utils

PROVENANCE = {"source_url": str, "fetched_at": str, "content_sha256": str}


def create_core_tables(db: sqlite_utils.Database) -> None:
    db["bills"].create(
        {
            "bill_no": str,  # 議案編號: 16 digits (terms 7-10) or 15 (term 11)
            "term": int,  # 屆
            "session": int,  # 會期
            "title": str,  # 議案名稱 as published
            "proposal_no": str,  # 提案編號 (70委19631)
            "doc_no": str,  # 字號
            "category": str,  # 議案類別 (法律案)
            "origin": str,  # 提案來源 (委員提案, 政府提案)
            "proposer_text": str,  # 提案單位/提案委員
            "reason": str,  # 案由
            "filed_on": str,  # 提案日期
            "status_raw": str,  # top-level 議案狀態, kept but never trusted
            "current_stage": str,
            "current_stage_label": str,
            "current_stage_on": str,
            "current_stage_derived": int,
            "last_progress_on": str,  # 最新進度日期 as published
            "meeting_code": str,  # 會議代碼
            "url": str,  # the bill's official page
            "source": str,
            **PROVENANCE,  # content_sha256: sha256 of the HTTP body the record came from
            "record_sha256": str,  # hash of the record itself: unchanged -> no write
            "first_seen_at": str,
            "updated_at": str,
        },
        pk="bill_no",
        not_null={"bill_no"},
    )
    db["stages"].create(
        {
            "bill_no": str,
            "seq": int,  # 0 = filing, 1.. = 議案流程 order as published, 1000+ = derived
            "stage": str,  # canonical slug (scrapers/stages.py)
            "stage_label": str,
            "status_raw": str,  # the 狀態 text exactly as published
            "origin": str,  # flow | field | derived
            "note": str,  # why a slug was re-classed or derived
            "venue": str,  # 院會/委員會 as published
            "venue_kind": str,  # plenary | committee | ''
            "committee": str,
            "session_code": str,  # 會期 09-02-06
            "meeting_codes": str,  # JSON list, one per date
            "dates": str,  # JSON list of every date as published ('' kept)
            "on": str,  # first date (ISO)
            "second_on": str,  # a two-day sitting's second day
            "order_on": str,  # the date used for ordering (inherited when empty)
            "source": str,
            **PROVENANCE,
            "gone_at": str,  # set when upstream stops listing it; never deleted
        },
        pk=("bill_no", "seq"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["sponsors"].create(
        {
            "bill_no": str,
            "role": str,  # proposer | cosponsor
            "seq": int,
            "name_raw": str,
            "name": str,  # one identity across spellings (pipelines/normalise/names.py)
            "kind": str,  # legislator | caucus | government
            "source": str,
            "source_url": str,
        },
        pk=("bill_no", "role", "seq"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["laws"].create(
        {
            "law_code": str,
            "name": str,
            "status": str,
            "kind": str,
            "parent_code": str,
            "source": str,
            **PROVENANCE,
        },
        pk="law_code",
    )
    db["bill_laws"].create(
        {"bill_no": str, "law_code": str, "law_name": str, "source_url": str},
        pk=("bill_no", "law_code"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["related_bills"].create(
        {"bill_no": str, "related_bill_no": str, "related_title": str, "source_url": str},
        pk=("bill_no", "related_bill_no"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["documents"].create(
        {"bill_no": str, "seq": int, "name": str, "url": str, "html_url": str},
        pk=("bill_no", "seq"),
        foreign_keys=[("bill_no", "bills", "bill_no")],
    )
    db["fetches"].create(
        {
            "id": int,
            "url": str,
            "fetched_at": str,
            "status": int,
            "content_sha256": str,
            "bytes": int,
            "content_type": str,
            "spider": str,
        },
        pk="id",
    )
    db["problems"].create(
        {
            "id": int,
            "recorded_at": str,
            "spider": str,
            "kind": str,  # malformed-json, block-page, http-404, unknown-stage, ...
            "message": str,
            "url": str,
            "bill_no": str,
            "detail": str,  # JSON
        },
        pk="id",
    )
    for table, cols in {
        "stages": ["stage"],
        "sponsors": ["name"],
        "bill_laws": ["law_code"],
        "related_bills": ["related_bill_no"],
        "fetches": ["url"],
        "problems": ["kind"],
        "bills": ["current_stage"],
    }.items():
        db[table].create_index(cols)


def index_bill_text(db: sqlite_utils.Database) -> None:
    """Chinese full text: FTS5's default tokenizer cannot find 資訊長 inside a title; trigram can."""
    db["bills"].enable_fts(["title", "reason"], tokenize="trigram", create_triggers=True)


def count_problem_recurrence(db: sqlite_utils.Database) -> None:
    """A problem seen again on a later crawl bumps `times` and `last_seen_at` instead of adding a
    row: re-running an unchanged crawl must leave every table but `fetches` as it was."""
    db["problems"].add_column("last_seen_at", str)
    db["problems"].add_column("times", int)
    db.execute("UPDATE problems SET last_seen_at = recorded_at, times = 1 WHERE times IS NULL")
    db["problems"].create_index(["kind", "url", "bill_no"], index_name="idx_problems_identity")


def add_bill_law_codes(db: sqlite_utils.Database) -> None:
    """A JSON array of law codes on each bill, so staffers can facet bills by law (array facet)."""
    db["bills"].add_column("law_codes", str)
