"""The `corrections` table: every entry of the reviewed corrections file, as reconcile found it.

One row per entry, keyed by what it corrects (pipelines/reconcile/corrections.py `Entry.key`), so editing the
entry's why or source updates its row, and an entry removed from the file keeps its row with
`gone_at` (kept, never deleted). `status`: pending (valid, its bill not reconciled since), applied,
invalid, no-such-bill, no-such-stage (`error` says why for these three), withdrawn (left the file,
its bill not reconciled since), reverted (left the file, what it applied is withdrawn).
"""

from __future__ import annotations

import sqlite_utils


def create_corrections(db: sqlite_utils.Database) -> None:
    db["corrections"].create(
        {
            "key": str,  # sha256 of (bill, field, what it targets): the entry's identity
            "entry": int,  # 1-based position in the file when last read
            "line": int,  # line of its [[correction]] header
            "file": str,  # the file's name, as the evidence text cites it
            "file_sha256": str,  # sha256 of the whole file when last read
            "bill_no": str,
            "field": str,  # stage | stage_date
            "stage": str,  # slug: the stage added (stage) or corrected (stage_date)
            "target_seq": int,  # stage_date: the stage's seq ...
            "target_raw": str,  # ... or its 狀態 text as published
            "value": str,  # the correct value (an ISO date)
            "why": str,
            "source": str,  # URL or citation of the record that proves it
            "reviewed_by": str,
            "reviewed_on": str,
            "status": str,
            "error": str,
            "stage_seq": int,  # the stages row it wrote (stage, stage_date)
            "applied_at": str,  # UTC, when it was first applied
            "gone_at": str,  # UTC, when it left the file
        },
        pk="key",
    )
    db["corrections"].create_index(["bill_no"])
    db["corrections"].create_index(["status"])
