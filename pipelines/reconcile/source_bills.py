"""Steps 1 and 2: every secondary source's record belongs to one bill, and every bill has a row.

1. lis records carry 提案編號, not billNo: they are resolved through bills.proposal_no.
2. A bill only a secondary source knows gets a `bills` row from it (one record per bill).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pipelines.rawsql import insert, select, update
from pipelines.reconcile.context import Context
from pipelines.reconcile.inputs import CHUNK, marks
from pipelines.reconcile.merged_reviews import title_key
from pipelines.reconcile.precedence import rank


def resolve_source_bills(ctx: Context) -> None:
    """lis records -> billNo by 提案編號; when a 提案編號 covers several drafts (70委20031) or
    several bills, only the one whose title matches is resolved, never a guess."""
    conn = ctx.conn
    pending = select(conn, "SELECT * FROM source_bills WHERE bill_no IS NULL OR bill_no = ''")
    numbers = sorted({row["proposal_no"] for row in pending if row["proposal_no"]})
    bills_by_no: dict[str, list[dict[str, Any]]] = defaultdict(list)
    sharing: dict[str, int] = defaultdict(int)
    for start in range(0, len(numbers), CHUNK):
        batch = numbers[start : start + CHUNK]
        for r in select(
            conn,
            f"SELECT bill_no, proposal_no, title FROM bills WHERE proposal_no IN ({marks(batch)})",
            batch,
        ):
            bills_by_no[r["proposal_no"]].append(r)
        for number, count in conn.execute(
            "SELECT proposal_no, count(*) FROM source_bills WHERE source = 'lis' "
            f"AND proposal_no IN ({marks(batch)}) GROUP BY proposal_no",
            batch,
        ):
            sharing[number] = count
    for row in pending:
        candidates = bills_by_no.get(row["proposal_no"], [])
        if len(candidates) == 1 and sharing[row["proposal_no"]] <= 1:
            match = candidates
        else:
            key = title_key(row["title"])
            match = [b for b in candidates if key and key == title_key(b["title"])]
        if len(match) == 1:
            where = {"source": row["source"], "source_key": row["source_key"]}
            update(conn, "source_bills", where, {"bill_no": match[0]["bill_no"]})
            ctx.counts["resolved"] += 1


def create_missing_bills(ctx: Context) -> None:
    """A `bills` row for each bill only secondary sources know, from the best of their readings
    (title precedence); no record_sha256 yet, so LYAPI's first record of it is written in full."""
    by_bill: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in select(
        ctx.conn,
        "SELECT * FROM source_bills WHERE bill_no IS NOT NULL AND bill_no != '' "
        "AND bill_no NOT IN (SELECT bill_no FROM bills) ORDER BY bill_no, source, source_key",
    ):
        by_bill[row["bill_no"]].append(row)
    for bill_no, readings in by_bill.items():
        top = min(readings, key=lambda r: rank("title", r["source"]))
        row = {
            "bill_no": bill_no,
            "term": top["term"],
            "title": top["title"],
            "proposal_no": top["proposal_no"],
            "filed_on": top["filed_on"],
            "status_raw": top["status_raw"],
            "source": top["source"],
            "source_url": top["source_url"],
            "fetched_at": top["fetched_at"],
            "content_sha256": top["content_sha256"],
            "record_sha256": "",  # no LYAPI record yet: the first one will be written
            "first_seen_at": ctx.now,
            "updated_at": ctx.now,
        }
        insert(ctx.conn, "bills", [row])
        ctx.counts["bills_created"] += 1
