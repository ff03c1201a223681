"""Evidence columns: every derived or doubted fact names its evidence, every bill its data age.

- stages.evidence_kind: what the stage rests on (pipelines/normalise/evidence.py lists the kinds);
  stages.evidence: the text it rests on, with the record it was read from;
  stages.date_doubt: why a published date is kept raw (in `dates`) but not used as `on`.
- bills.as_of: the newest capture of any record of the bill (LYAPI 資料抓取時間, a source's
  Last-Modified, else its fetch time): nothing after it is known. current_stage_evidence and
  current_stage_caveat: what the current stage rests on, and what the page and the API must say
  beside it (stale data, sources that disagree, an undated pass). filed_on_raw: the filing date
  as published when it is not used as fact.
- source_bills.captured_at: the same data age for a secondary source's reading.
- merged_reviews.kind: related (a 關連議案 link either way) | title (the report's title names
  the bill's sponsor and its own 「title」) | candidate (an ambiguous match: shown, never moves
  a stage).
"""

from __future__ import annotations

import sqlite_utils


def add_evidence_columns(db: sqlite_utils.Database) -> None:
    for table, column in (
        ("stages", "evidence_kind"),
        ("stages", "evidence"),
        ("stages", "date_doubt"),
        ("bills", "as_of"),
        ("bills", "current_stage_evidence"),
        ("bills", "current_stage_caveat"),
        ("bills", "filed_on_raw"),
        ("source_bills", "captured_at"),
        ("merged_reviews", "kind"),
    ):
        db[table].add_column(column, str)
    db["merged_reviews"].create_index(["kind"])
    db["stages"].create_index(["evidence_kind"])
