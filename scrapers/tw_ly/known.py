"""What the store already holds, read by spiders for incremental refresh.

Spiders never import pipelines; they read the SQLite file (read-only) directly. A missing file
or table means nothing is known, so an incremental refresh of an empty store fetches everything.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Known:
    """bill_no -> (最新進度日期, 議案名稱, 議案狀態) as stored; law codes stored."""

    bills: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    laws: set[str] = field(default_factory=set)


def read_known(db_path: str | Path) -> Known:
    path = Path(db_path)
    if not path.is_file():
        return Known()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        bills = {
            row[0]: (row[1] or "", row[2] or "", row[3] or "")
            for row in conn.execute("select bill_no, last_progress_on, title, status_raw from bills")
        }
        laws = {row[0] for row in conn.execute("select law_code from laws where name != ''")}
    except sqlite3.OperationalError:  # no tables yet
        return Known()
    finally:
        conn.close()
    return Known(bills, laws)
