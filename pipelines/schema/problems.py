"""A problem is one row per thing that failed, not one per run.

problems.problem_key (pipelines/problems.py problem_key) identifies a problem without the
origin of its URL: the replay serves every run on a new port, and each run used to add the same
problems again. Rows recorded before this migration are keyed here and the copies of one
problem merged into its first row (times summed, last_seen_at the latest): they were one problem.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.problems import problem_key


def key_problems_without_url_origin(db: sqlite_utils.Database) -> None:
    db["problems"].add_column("problem_key", str)
    rows = db.execute(
        "SELECT id, spider, kind, message, url, bill_no, times, last_seen_at FROM problems ORDER BY id"
    ).fetchall()
    first: dict[str, list] = {}
    for pid, spider, kind, message, url, bill_no, times, last_seen in rows:
        key = problem_key(spider or "", kind or "", message or "", url or "", bill_no)
        if key not in first:
            first[key] = [pid, times or 1, last_seen]
            db.execute("UPDATE problems SET problem_key = ? WHERE id = ?", [key, pid])
            continue
        kept = first[key]
        kept[1] += times or 1
        kept[2] = max(kept[2] or "", last_seen or "")
        db.execute(
            "UPDATE problems SET times = ?, last_seen_at = ? WHERE id = ?", [kept[1], kept[2], kept[0]]
        )
        db.execute("DELETE FROM problems WHERE id = ?", [pid])
    db["problems"].create_index(["problem_key"], index_name="idx_problems_key", unique=True)


def add_problem_resolved_at(db: sqlite_utils.Database) -> None:
    """problems.resolved_at: a condition that no longer holds (an MOJ law linked once its LY law
    arrived) is kept as history, not shown as a current problem."""
    db["problems"].add_column("resolved_at", str)
