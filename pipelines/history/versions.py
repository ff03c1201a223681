"""What changed: bill versions (git-history style) and typed change events, matched to watches.

StorePipeline takes the bill's state before it writes (a new bill has none) and after, then calls
:func:`record_version` and :func:`record_changes` inside the same transaction, only when the
bill's record hash changed (an unchanged bill writes nothing). Events are computed by
:func:`diff`, a pure function of the stored rows before and after. Reads and writes are plain
sqlite3 (pipelines/rawsql.py): this runs for every changed bill of a 150k backfill.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from pipelines.history.watches import Watch, match_change, stored_watches
from pipelines.normalise.bill_record import to_json, to_sorted_json
from pipelines.rawsql import insert, select, select_one
from scrapers.stages import LABELS, classify

# kind -> Chinese label, used in feed titles (the `change_kinds` table holds the same pairs).
KIND_LABELS: dict[str, str] = {
    "new-bill": "新議案",
    "stage-added": "新進度",
    "current-stage-changed": "目前階段變更",
    "sponsor-added": "新增提案或連署人",
    "sponsor-removed": "移除提案或連署人",
    "title-changed": "議案名稱變更",
    "related-added": "新增關連議案",
    "expired": "屆期不續審",
    "disagreement": "議案狀態與流程不一致",
}
KINDS = tuple(KIND_LABELS)


@dataclass
class BillState:
    """The stored rows of one bill that changes are computed from."""

    bill: dict[str, Any] | None
    stages: list[dict[str, Any]] = field(default_factory=list)
    sponsors: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)
    laws: list[str] = field(default_factory=list)


@dataclass
class Change:
    kind: str
    old_value: str | None = None
    new_value: str | None = None
    stage: str = ""
    committee: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def snapshot(db: sqlite_utils.Database, bill_no: str, bill: dict[str, Any] | None = None) -> BillState:
    """The bill's stored rows (live stages only); `bill` when the caller has just read its row."""
    conn = db.conn
    if bill is None:
        bill = select_one(conn, "select * from bills where bill_no = ?", [bill_no])
    if bill is None:
        return BillState(None)
    return BillState(
        bill,
        select(conn, "select * from stages where bill_no = ? and gone_at is null order by seq", [bill_no]),
        select(conn, "select * from sponsors where bill_no = ?", [bill_no]),
        select(conn, "select * from related_bills where bill_no = ?", [bill_no]),
        [code for (code,) in conn.execute("select law_code from bill_laws where bill_no = ?", [bill_no])],
    )


def stage_key(row: dict[str, Any]) -> tuple[str, str, str, str]:
    """A stage's identity across crawls: what it says and when, not its position (seq shifts
    when upstream inserts an entry in the middle)."""
    return (row["origin"], row["status_raw"] or row["stage"], row["venue"] or "", row["dates"] or "[]")


def describe_stage(row: dict[str, Any]) -> str:
    label = LABELS.get(row["stage"], row["stage"])
    where = row.get("committee") or row.get("venue") or ""
    raw = row.get("status_raw") or ""
    parts = [label, f"({raw})" if raw and raw != label else "", where, row.get("on") or ""]
    return " ".join(p for p in parts if p)


def flow_stage(state: BillState) -> str | None:
    """The latest stage upstream itself recorded (derived stages and corrections left out)."""
    rows = [
        r for r in state.stages if r["origin"] not in ("derived", "correction") and r["stage"] != "unknown"
    ]
    rows.sort(key=lambda r: (r["order_on"] or "", r["seq"]))
    return rows[-1]["stage"] if rows else None


def disagreement(state: BillState) -> tuple[str, str] | None:
    """(top-level 議案狀態, latest flow stage) when they name different stages.

    1050202070100500: 議案狀態 says 排入院會 while the flow ends 撤案."""
    if state.bill is None or not state.bill.get("status_raw"):
        return None
    published = classify(state.bill["status_raw"])
    latest = flow_stage(state)
    if latest is None or published in {"unknown", latest}:
        return None
    return state.bill["status_raw"], latest


def diff(old: BillState, new: BillState) -> list[Change]:
    """Typed events between two stored states of one bill (old.bill None = a new bill)."""
    bill = new.bill
    assert bill is not None
    if old.bill is None:
        changes = [Change("new-bill", None, bill["title"], bill["current_stage"] or "")]
    else:
        changes = _diff_existing(old, new)
    now_disagrees, was = disagreement(new), disagreement(old)
    if now_disagrees and now_disagrees != was:
        raw, latest = now_disagrees
        changes.append(
            Change(
                "disagreement",
                raw,
                f"{LABELS.get(latest, latest)} ({latest})",
                latest,
                detail={"status_raw": raw, "flow_stage": latest},
            )
        )
    return changes


def _diff_existing(old: BillState, new: BillState) -> list[Change]:
    assert old.bill is not None and new.bill is not None
    changes: list[Change] = []
    if old.bill["title"] != new.bill["title"]:
        changes.append(Change("title-changed", old.bill["title"], new.bill["title"]))
    # A multiset: 1060518070280700 lists 交付審查 twice at one sitting; the second is a stage too.
    old_keys = Counter(stage_key(r) for r in old.stages)
    for row in sorted(new.stages, key=lambda r: r["seq"]):
        key = stage_key(row)
        if old_keys[key] > 0:
            old_keys[key] -= 1
            continue
        # stage-added means upstream published a stage. A derived one (a merged report's 三讀, a
        # promulgation found in MOJ 沿革, an expiry) or a reviewed correction (corrections.toml)
        # reaches the news as the current-stage change it causes, below.
        if row["origin"] not in ("derived", "correction"):
            changes.append(
                Change(
                    "stage-added",
                    None,
                    describe_stage(row),
                    row["stage"],
                    row.get("committee") or "",
                    {"seq": row["seq"], "status_raw": row["status_raw"], "on": row["on"]},
                )
            )
    before, after = old.bill["current_stage"], new.bill["current_stage"]
    if before != after:
        kind = "expired" if after == "expired" else "current-stage-changed"
        changes.append(
            Change(
                kind,
                before,
                after,
                after or "",
                detail={"on": new.bill["current_stage_on"], "derived": new.bill["current_stage_derived"]},
            )
        )
    old_people = {(r["role"], r["name"]) for r in old.sponsors}
    new_people = {(r["role"], r["name"]) for r in new.sponsors}
    for role, name in sorted(new_people - old_people):
        changes.append(Change("sponsor-added", None, name, detail={"role": role}))
    if new.sponsors:  # a record without sponsors keeps the stored ones: nothing was removed
        for role, name in sorted(old_people - new_people):
            changes.append(Change("sponsor-removed", name, None, detail={"role": role}))
    old_related = {r["related_bill_no"] for r in old.related}
    for row in new.related:
        if row["related_bill_no"] not in old_related:
            changes.append(
                Change(
                    "related-added",
                    None,
                    row["related_bill_no"],
                    detail={"title": row["related_title"]},
                )
            )
    return changes


def record_version(
    db: sqlite_utils.Database, bill: dict[str, Any], raw_record: dict[str, Any], run_id: int | None, now: str
) -> None:
    """The record as published, numbered 1, 2, ... per bill (git-history's item_version)."""
    bill_no = bill["bill_no"]
    last = db.conn.execute("select max(version) from bill_versions where bill_no = ?", [bill_no]).fetchone()
    row = {
        "bill_no": bill_no,
        "version": (last[0] or 0) + 1,
        "record": to_sorted_json(raw_record),
        "record_sha256": bill["record_sha256"],
        "detected_at": now,
        "run_id": run_id,
        "source_url": bill["source_url"],
        "fetched_at": bill["fetched_at"],
        "content_sha256": bill["content_sha256"],
    }
    insert(db.conn, "bill_versions", [row])


def record_changes(
    db: sqlite_utils.Database,
    bill_no: str,
    old: BillState,
    new: BillState,
    run_id: int | None,
    now: str,
    watches: list[Watch] | None = None,
) -> list[int]:
    """Insert the typed events between two states of one bill, each matched to its watches
    (`watches`: the stored ones, when the caller has them at hand)."""
    bill = new.bill
    assert bill is not None
    ids = []
    for change in diff(old, new):
        row = {
            "bill_no": bill_no,
            "kind": change.kind,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "stage": change.stage,
            "committee": change.committee or current_committee(new),
            "detail": to_json(change.detail),
            "detected_at": now,
            "run_id": run_id,
            "source_url": bill["source_url"],
            "fetched_at": bill["fetched_at"],
            "content_sha256": bill["content_sha256"],
        }
        change_id = insert(db.conn, "changes", [row])
        assert change_id is not None
        ids.append(change_id)
        match_change(db, change_id, new, watches)
    return ids


def current_committee(state: BillState) -> str:
    """The committee a bill last went to (for per-committee feeds of non-stage events)."""
    rows = [r for r in state.stages if r.get("committee")]
    rows.sort(key=lambda r: (r["order_on"] or "", r["seq"]))
    return rows[-1]["committee"] if rows else ""


def snapshots(db: sqlite_utils.Database, bill_nos: list[str]) -> dict[str, BillState]:
    """:func:`snapshot` of many bills with one query per table (reconcile reads a chunk of a
    150k-bill backfill at once); each state equals what :func:`snapshot` returns, row order
    included. Bills not stored are left out."""
    out: dict[str, BillState] = {}
    for start in range(0, len(bill_nos), _BATCH):
        batch = bill_nos[start : start + _BATCH]
        marks = ",".join("?" for _ in batch)
        for bill in db.query(f"select * from bills where bill_no in ({marks})", batch):
            out[bill["bill_no"]] = BillState(bill)
        for table, where, order, attr in (
            ("stages", " and gone_at is null", "seq", "stages"),
            ("sponsors", "", "role, seq", "sponsors"),
            ("related_bills", "", "related_bill_no", "related"),
        ):
            sql = f"select * from {table} where bill_no in ({marks}){where} order by bill_no, {order}"
            for row in db.query(sql, batch):
                state = out.get(row["bill_no"])
                if state is not None:
                    getattr(state, attr).append(row)
        sql = f"select bill_no, law_code from bill_laws where bill_no in ({marks}) order by bill_no, law_code"
        for bill_no, law_code in db.execute(sql, batch):
            if bill_no in out:
                out[bill_no].laws.append(law_code)
    return out


_BATCH = 500  # bills per IN (...) list: under SQLite's default limit of 999 variables on old builds


def rematch_all(db: sqlite_utils.Database) -> None:
    """Match every stored change to the stored watches again (after the watches changed)."""
    watches = stored_watches(db)
    by_bill: dict[str, list[int]] = {}
    for row in db.execute("select id, bill_no from changes order by id").fetchall():
        by_bill.setdefault(row[1], []).append(row[0])
    for bill_no, ids in by_bill.items():
        state = snapshot(db, bill_no)
        if state.bill is None:
            continue
        for change_id in ids:
            match_change(db, change_id, state, watches)
