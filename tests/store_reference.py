"""The store as it was before raw SQL (main at 80f7b4f): sqlite-utils upserts, rows_where look-ups,
a snapshot of every bill before and after each write. Kept as the plain reference that
tests/test_store_equivalence.py holds the fast store (pipelines/store.py) to, row for row.

Only the per-bill path is here: ReferenceStore inherits everything else (batching, savepoints,
StoreUnavailable, dispatch) from StorePipeline, so the two differ only in how a bill is written.
A change to what the store writes must be made in both places: that is the point.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from pipelines.articles import article_rows
from pipelines.history import BillState, diff
from pipelines.normalise import NormalisedBill, normalise_bill
from pipelines.problems import problem_key
from pipelines.search_keys import search_rows
from pipelines.store import StorePipeline
from pipelines.validate import wrong_types
from pipelines.watches import Watch
from scrapers.items import BillItem, FetchItem
from scrapers.tw_ly.responses import utc_now


def snapshot(db: sqlite_utils.Database, bill_no: str) -> BillState:
    bill = next(db["bills"].rows_where("bill_no = ?", [bill_no]), None)
    if bill is None:
        return BillState(None)
    return BillState(
        bill,
        list(db["stages"].rows_where("bill_no = ? and gone_at is null", [bill_no], order_by="seq")),
        list(db["sponsors"].rows_where("bill_no = ?", [bill_no])),
        list(db["related_bills"].rows_where("bill_no = ?", [bill_no])),
        [r["law_code"] for r in db["bill_laws"].rows_where("bill_no = ?", [bill_no])],
    )


def stored_watches(db: sqlite_utils.Database) -> list[Watch]:
    if not db["watches"].exists():
        return []
    return [Watch(r["name"], r["kind"], r["value"], r["title"]) for r in db["watches"].rows]


def match_change(db: sqlite_utils.Database, change_id: int, state: BillState) -> None:
    assert state.bill is not None
    committees = {r["committee"] for r in state.stages if r.get("committee")}
    for watch in stored_watches(db):
        if watch.matches(state.bill, state.laws, committees):
            db["change_watches"].insert(
                {"change_id": change_id, "watch": watch.name}, pk=("change_id", "watch"), ignore=True
            )


def current_committee(state: BillState) -> str:
    rows = [r for r in state.stages if r.get("committee")]
    rows.sort(key=lambda r: (r["order_on"] or "", r["seq"]))
    return rows[-1]["committee"] if rows else ""


def record_changes(
    db: sqlite_utils.Database, bill_no: str, old: BillState, new: BillState, run_id: int | None, now: str
) -> None:
    bill = new.bill
    assert bill is not None
    prov = {k: bill[k] for k in ("source_url", "fetched_at", "content_sha256")}
    for change in diff(old, new):
        committee = change.committee or current_committee(new)
        cur = db["changes"].insert(
            {
                "bill_no": bill_no,
                "kind": change.kind,
                "old_value": change.old_value,
                "new_value": change.new_value,
                "stage": change.stage,
                "committee": committee,
                "detail": json.dumps(change.detail, ensure_ascii=False),
                "detected_at": now,
                "run_id": run_id,
                **prov,
            },
            pk="id",
        )
        match_change(db, cur.last_pk, new)


def record(
    db: sqlite_utils.Database,
    bill_no: str,
    old: BillState,
    raw_record: dict[str, Any],
    run_id: int | None,
    now: str,
) -> None:
    new = snapshot(db, bill_no)
    bill = new.bill
    assert bill is not None
    prov = {k: bill[k] for k in ("source_url", "fetched_at", "content_sha256")}
    last = db.execute("select max(version) from bill_versions where bill_no = ?", [bill_no]).fetchone()
    db["bill_versions"].insert(
        {
            "bill_no": bill_no,
            "version": (last[0] or 0) + 1,
            "record": json.dumps(raw_record, ensure_ascii=False, sort_keys=True),
            "record_sha256": bill["record_sha256"],
            "detected_at": now,
            "run_id": run_id,
            **prov,
        },
        pk=("bill_no", "version"),
    )
    record_changes(db, bill_no, old, new, run_id, now)


def record_problem(
    db: sqlite_utils.Database,
    spider: str,
    kind: str,
    message: str,
    url: str,
    bill_no: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    now = utc_now()
    key = problem_key(spider, kind, message, url, bill_no)
    seen = next(db["problems"].rows_where("problem_key = ?", [key]), None)
    if seen is not None:
        db["problems"].update(
            seen["id"],
            {"last_seen_at": now, "times": (seen["times"] or 1) + 1, "url": url, "message": message},
        )
        return
    db["problems"].insert(
        {
            "recorded_at": now,
            "spider": spider,
            "kind": kind,
            "message": message,
            "url": url,
            "bill_no": bill_no,
            "detail": json.dumps(detail or {}, ensure_ascii=False),
            "last_seen_at": now,
            "times": 1,
            "problem_key": key,
        }
    )


class ReferenceStore(StorePipeline):
    """StorePipeline with main's sqlite-utils bill writer (the code below is main's, unchanged)."""

    def record_problem(
        self,
        spider: str,
        kind: str,
        message: str,
        url: str,
        bill_no: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        assert self.db is not None
        self.counts["problems"] += 1
        record_problem(self.db, spider, kind, message, url, bill_no, detail)

    def dispatch(self, item: Any) -> None:
        assert self.db is not None
        if isinstance(item, FetchItem):
            self.db["fetches"].insert(vars(item))
        else:
            super().dispatch(item)

    def store_bill(self, item: BillItem) -> None:
        assert self.db is not None
        norm = normalise_bill(item, self.today)
        for p in wrong_types(item.record) + norm.problems:
            self.record_problem(
                item.provenance.spider, p.kind, p.message, item.provenance.source_url, item.bill_no, p.detail
            )
        table = self.db["bills"]
        existing = next(table.rows_where("bill_no = ?", [item.bill_no]), None)
        if existing and existing["record_sha256"] == norm.bill["record_sha256"]:
            self.counts["noop"] += 1
            if not self.db["search_texts"].count_where("bill_no = ?", [item.bill_no]):
                with self.db.atomic():
                    self._write_articles(item, norm)
            return
        before = snapshot(self.db, item.bill_no)
        with self.db.atomic():
            self._write(norm, existing)
            self._write_articles(item, norm)
            record(self.db, item.bill_no, before, item.record, self.run_id(), utc_now())
        self.counts["updated" if existing else "inserted"] += 1

    def _write_articles(self, item: BillItem, norm: NormalisedBill) -> None:
        assert self.db is not None
        db, bill_no = self.db, item.bill_no
        prov = {k: norm.bill[k] for k in ("source", "source_url", "fetched_at", "content_sha256")}
        rows, problems = article_rows(bill_no, item.record, norm.laws, prov)
        for p in problems:
            self.record_problem(
                item.provenance.spider, p.kind, p.message, item.provenance.source_url, bill_no, p.detail
            )
        stored = {r["seq"]: r for r in db["articles"].rows_where("bill_no = ?", [bill_no])}
        stored_table = [r for r in stored.values() if r["origin"] == "table" and not r["gone_at"]]
        if stored_table and not any(r["origin"] == "table" for r in rows):
            self.record_problem(
                item.provenance.spider,
                "table-vanished",
                f"{bill_no}: upstream lists no 對照表 now; kept {len(stored_table)} stored article rows",
                item.provenance.source_url,
                bill_no,
            )
            rows = list(stored.values())
        if rows:
            db["articles"].upsert_all(rows, pk=("bill_no", "seq"))
        now = utc_now()
        for seq, row in stored.items():
            if seq >= len(rows) and not row["gone_at"]:
                db["articles"].update((bill_no, seq), {"gone_at": now})
        live = [r for r in rows if not r.get("gone_at")]
        db["search_texts"].delete_where("bill_no = ?", [bill_no])
        db["search_texts"].insert_all(search_rows(norm.bill, live), pk=("bill_no", "field"))

    def _write(self, norm: NormalisedBill, existing: dict[str, Any] | None) -> None:
        assert self.db is not None
        db, bill = self.db, dict(norm.bill)
        now = utc_now()
        bill_no = bill["bill_no"]
        bill["first_seen_at"] = existing["first_seen_at"] if existing else now
        bill["updated_at"] = now
        stored = {r["seq"]: r for r in db["stages"].rows_where("bill_no = ?", [bill_no])}
        new_flow = [r for r in norm.stages if r["origin"] == "flow"]
        stored_flow = [r for r in stored.values() if r["origin"] == "flow" and not r["gone_at"]]
        if stored_flow and not new_flow:
            for key in ("current_stage", "current_stage_label", "current_stage_on", "current_stage_derived"):
                bill[key] = existing[key] if existing else bill[key]
            self.record_problem(
                bill["source"],
                "flow-vanished",
                f"{bill_no}: upstream lists no 議案流程 now; kept {len(stored_flow)} stored",
                bill["source_url"],
                bill_no,
            )
            stages = []
        else:
            stages = norm.stages
        db["bills"].upsert(bill, pk="bill_no")
        if stages:
            db["stages"].upsert_all(stages, pk=("bill_no", "seq"))
            seen = {r["seq"] for r in stages}
            for seq, row in stored.items():
                if seq not in seen and not row["gone_at"]:
                    db["stages"].update((bill_no, seq), {"gone_at": now})
        if norm.sponsors:
            db["sponsors"].delete_where("bill_no = ?", [bill_no])
            db["sponsors"].insert_all(norm.sponsors, pk=("bill_no", "role", "seq"))
        for row in norm.laws:
            db["bill_laws"].upsert(row, pk=("bill_no", "law_code"))
            if not db["laws"].count_where("law_code = ?", [row["law_code"]]):
                db["laws"].insert(
                    {
                        "law_code": row["law_code"],
                        "name": row["law_name"],
                        "source": "lyapi",
                        "source_url": row["source_url"],
                    }
                )
        if norm.related:
            db["related_bills"].upsert_all(norm.related, pk=("bill_no", "related_bill_no"))
        if norm.documents:
            db["documents"].upsert_all(norm.documents, pk=("bill_no", "seq"))
