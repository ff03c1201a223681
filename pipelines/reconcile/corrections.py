"""Corrections as data: reviewed fixes in billtracker/corrections.toml, applied by reconcile.

When a source is wrong and a record proves it (lis says 三讀 on a bill whose 議案流程 stops at
委員會發文), the fix is an entry of the corrections file, never code and never an edit of a raw
row. Each entry names the bill, what it corrects, the correct value, why, the record that proves
it, who reviewed it and when. Reconcile applies it through one hook, :func:`apply`, after the
stages the sources report are in place (attach_sources) and before every step that derives from
the bill's stages, which all see it in the same run (a bill with a corrected 三讀 borrows none
from a report or a status, its promulgation follows, its current stage counts it), so a second
run writes nothing:

- ``stage``: a stage the sources miss, e.g. a third reading: a stages row of its own (origin
  ``correction``, evidence_kind ``correction``, seq 3000+).
- ``stage_date``: the date of a stage a record dates wrongly (a 議案流程 entry, the filing, an
  event only a secondary source reports; found by slug and seq, or slug and its 狀態 text): a
  stages row of its own with the corrected date, which stands in for the published one in every
  later step; the published row stays as it is in the database.

Not yet ``filed_on`` or ``title``: reconcile's ledger reads bills.filed_on / bills.title back as
LYAPI's own reading, so a corrected value written there would be reported as LYAPI's on the next
run. The loader names them (NOT_YET) and refuses them with that reason until the ledger reads
LYAPI's published value from a raw column.

An entry removed from the file withdraws what it applied (gone_at, kept); a broken entry is a
`corrections` row with status invalid / no-such-bill / no-such-stage and one problem row, and the
others still apply; an unreadable file is one problem and changes nothing already applied.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
import weakref
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from pipelines.normalise.stage_row import stage_row
from pipelines.problems import record_problem
from pipelines.rawsql import select, select_one, update, upsert
from scrapers.stages import LABELS, SLUGS

if TYPE_CHECKING:
    from pipelines.reconcile import BillInputs, Reconciler

DEFAULT_CORRECTIONS = Path(__file__).resolve().parents[2] / "billtracker" / "corrections.toml"
ENV = "BILLTRACKER_CORRECTIONS"
SOURCE = "correction"  # stages.source, stages.origin and stages.evidence_kind of a corrected stage
CORRECTION_SEQ = 3000  # a stage a correction adds (after derived 1000+ and source-only 2000+)
STANDS_IN = "corrected by"  # in memory only: a published row whose corrected date stands in for it
PROBLEM_SPIDER = "reconcile"
PROBLEM_KIND = "bad-correction"

# What an entry may correct, and the keys each field takes besides the common ones.
FIELDS: dict[str, str] = {
    "stage": "add a stage the sources miss: `stage` (a slug) and `value` (its date)",
    "stage_date": "the date of a stored stage: `stage` (its slug), `seq` or `raw` (its 狀態 text), `value`",
}
NOT_YET: dict[str, str] = {
    field: (
        f"field {field!r} is not applied yet: reconcile's ledger reads bills.{field} back as LYAPI's "
        "own reading, so a corrected value there would be reported as LYAPI's"
    )
    for field in ("filed_on", "title")
}
COMMON_KEYS: dict[str, str] = {
    "bill": "the bill's 議案編號 (billNo), a string of 15 or 16 digits",
    "field": "what it corrects: " + ", ".join(FIELDS),
    "value": "the correct value: the stage's date (YYYY-MM-DD)",
    "why": "why the stored value is wrong",
    "source": "the URL or citation of the record that proves the correct value",
    "reviewed_by": "who reviewed the entry",
    "reviewed_on": "when it was reviewed (YYYY-MM-DD)",
}
FIELD_KEYS: dict[str, tuple[str, ...]] = {"stage": ("stage",), "stage_date": ("stage", "seq", "raw")}
TARGET_KEYS: dict[str, str] = {
    "stage": "a stage slug (scrapers/stages.py); for stage_date the slug of the stage it corrects",
    "seq": "stage_date: the stage's seq in `stages`",
    "raw": "stage_date: the stage's 狀態 text as published (when it is unique on the bill)",
}
KEYS: tuple[str, ...] = tuple(COMMON_KEYS) + tuple(TARGET_KEYS)
# A correction may add a stage a record proves; expiry is derived from the term alone
# (pipelines/normalise/evidence.py EXPIRY_KINDS) and `unknown` is no fact at all.
NOT_CORRECTABLE: frozenset[str] = frozenset({"expired", "unknown"})
# Stages a stage_date correction may target: what a record published (the 議案流程, the 提案日期,
# an event only a secondary source reports), never what reconcile derived.
TARGET_ORIGINS: frozenset[str] = frozenset({"flow", "field", "source"})
_BILL_NO = re.compile(r"^\d{15,16}$")
_HEADER = re.compile(r"^\s*\[\[\s*correction\s*\]\]")


class BadCorrections(ValueError):
    """The corrections file as a whole cannot be read; names the file."""


@dataclass(frozen=True)
class Entry:
    """One [[correction]] of the file, validated (errors empty) or not."""

    index: int  # 1-based position in the file
    line: int  # line of its [[correction]] header (0 when not found)
    raw: dict[str, Any]
    bill_no: str = ""
    field: str = ""
    stage: str = ""
    seq: int | None = None
    target_raw: str = ""
    value: str = ""
    why: str = ""
    source: str = ""
    reviewed_by: str = ""
    reviewed_on: str = ""
    errors: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """What the entry corrects, so a reworded why keeps its identity; a broken entry is
        keyed by its whole text (one problem per broken entry, not one per run)."""
        if self.errors:
            ident: list[Any] = [
                "invalid",
                json.dumps(self.raw, ensure_ascii=False, sort_keys=True, default=str),
            ]
        else:
            value = self.value if self.field == "stage" else ""
            ident = [self.bill_no, self.field, self.stage, self.seq, self.target_raw, value]
        return hashlib.sha256(json.dumps(ident, ensure_ascii=False).encode()).hexdigest()

    def cite(self, file_name: str) -> str:
        """The evidence text a corrected row carries."""
        return (
            f"{file_name} #{self.index}: {self.why} ({self.source}), "
            f"reviewed by {self.reviewed_by} on {self.reviewed_on}"
        )


def _day(value: Any) -> str | None:
    """An ISO calendar day from a TOML date or a 'YYYY-MM-DD' string; None if it is not one."""
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            return None
    return None


def _text(raw: dict[str, Any], key: str, errors: list[str]) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.append(f"missing `{key}`")
        return ""
    if not isinstance(value, str):
        errors.append(f"`{key}` must be a string, not {type(value).__name__}")
        return ""
    return value.strip()


def parse_entry(index: int, line: int, raw: Any) -> Entry:
    """Validate one entry strictly: every problem it has, in the order a reviewer reads it."""
    if not isinstance(raw, dict):
        return Entry(index, line, {"value": str(raw)}, errors=("not a table",))
    raw = json.loads(json.dumps(raw, ensure_ascii=False, default=str))  # TOML dates as text
    errors: list[str] = [f"unknown key `{k}`" for k in raw if k not in KEYS]
    bill_no = _text(raw, "bill", errors)
    if bill_no and not _BILL_NO.match(bill_no):
        errors.append(f"`bill` {bill_no!r} is not a 議案編號 (15 or 16 digits)")
    kind = _text(raw, "field", errors)
    if kind in NOT_YET:
        errors.append(NOT_YET[kind])
        kind = ""
    elif kind and kind not in FIELDS:
        errors.append(f"unknown field {kind!r} (one of {', '.join(FIELDS)})")
        kind = ""
    for key in TARGET_KEYS:
        if kind and key in raw and key not in FIELD_KEYS[kind]:
            errors.append(f"`{key}` does not apply to field {kind!r}")
    stage, seq, target_raw = "", None, ""
    if kind in ("stage", "stage_date"):
        stage = _text(raw, "stage", errors)
        if stage and stage not in SLUGS:
            errors.append(f"unknown stage slug {stage!r} (scrapers/stages.py)")
        elif kind == "stage" and stage in NOT_CORRECTABLE:
            errors.append(f"stage {stage!r} cannot be added by a correction")
    if kind == "stage_date":
        if ("seq" in raw) == ("raw" in raw):
            errors.append("stage_date needs exactly one of `seq` and `raw`")
        elif "seq" in raw:
            if isinstance(raw["seq"], int) and not isinstance(raw["seq"], bool) and raw["seq"] >= 0:
                seq = raw["seq"]
            else:
                errors.append(f"`seq` must be a stage's seq (an integer), not {raw['seq']!r}")
        else:
            target_raw = _text(raw, "raw", errors)
    value = ""
    if kind:
        if raw.get("value") in (None, ""):
            errors.append("missing `value`")
        else:
            value = _day(raw["value"]) or ""
            if not value:
                errors.append(f"`value` {raw['value']!r} is not a date (YYYY-MM-DD)")
    why = _text(raw, "why", errors)
    source = _text(raw, "source", errors)
    reviewed_by = _text(raw, "reviewed_by", errors)
    reviewed_on = ""
    if raw.get("reviewed_on") in (None, ""):
        errors.append("missing `reviewed_on`")
    else:
        reviewed_on = _day(raw["reviewed_on"]) or ""
        if not reviewed_on:
            errors.append(f"`reviewed_on` {raw['reviewed_on']!r} is not a date (YYYY-MM-DD)")
    return Entry(
        index,
        line,
        raw,
        bill_no=bill_no,
        field=kind,
        stage=stage,
        seq=seq,
        target_raw=target_raw,
        value=value,
        why=why,
        source=source,
        reviewed_by=reviewed_by,
        reviewed_on=reviewed_on,
        errors=tuple(errors),
    )


def load(path: str | Path) -> tuple[list[Entry], str]:
    """Every [[correction]] of the file (valid or not) and the file's sha256; BadCorrections when
    the file cannot be read as TOML at all."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadCorrections(f"{path}: cannot read the corrections file: {exc.strerror or exc}") from None
    try:
        config = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadCorrections(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(config) - {"correction"})
    if unknown:
        raise BadCorrections(f"{path}: unknown top-level key(s) {', '.join(unknown)}: only [[correction]]")
    items = config.get("correction", [])
    if not isinstance(items, list):
        raise BadCorrections(f"{path}: `correction` must be an array of tables ([[correction]])")
    lines = [n for n, text in enumerate(data.decode("utf-8").splitlines(), start=1) if _HEADER.match(text)]
    entries = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(items, start=1):
        entry = parse_entry(index, lines[index - 1] if index <= len(lines) else 0, raw)
        if not entry.errors and entry.key in seen:
            entry = Entry(
                index, entry.line, entry.raw, errors=(f"corrects what entry #{seen[entry.key]} corrects",)
            )
        seen.setdefault(entry.key, index)
        entries.append(entry)
    return entries, hashlib.sha256(data).hexdigest()


def corrections_path(configured: str | Path | None = None) -> Path:
    """The file reconcile applies: as configured, else $BILLTRACKER_CORRECTIONS, else the repository's."""
    return Path(configured or os.environ.get(ENV) or DEFAULT_CORRECTIONS)


def _problem(
    db: sqlite_utils.Database, message: str, url: str, bill_no: str | None, detail: dict[str, Any]
) -> None:
    """One problem row per broken thing: a re-run with the same file adds nothing, not even a count."""
    seen = db.execute(
        "SELECT 1 FROM problems WHERE spider = ? AND kind = ? AND message = ? AND url = ? AND bill_no IS ?",
        [PROBLEM_SPIDER, PROBLEM_KIND, message, url, bill_no],
    ).fetchone()
    if seen is None:
        record_problem(db, PROBLEM_SPIDER, PROBLEM_KIND, message, url, bill_no, detail)


@dataclass
class RunState:
    """The file as this reconcile run read it: entries by bill, and the stored table rows."""

    path: Path
    usable: bool = True  # False: the file could not be read; nothing is applied or withdrawn
    by_bill: dict[str, list[Entry]] = field(default_factory=dict)
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> corrections row
    withdrawn_by_bill: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


_RUNS: weakref.WeakKeyDictionary[Any, RunState] = weakref.WeakKeyDictionary()


def _row(entry: Entry, file_name: str, file_sha: str, status: str, error: str) -> dict[str, Any]:
    return {
        "key": entry.key,
        "entry": entry.index,
        "line": entry.line,
        "file": file_name,
        "file_sha256": file_sha,
        "bill_no": entry.bill_no or str(entry.raw.get("bill") or ""),
        "field": entry.field or str(entry.raw.get("field") or ""),
        "stage": entry.stage or str(entry.raw.get("stage") or ""),
        "target_seq": entry.seq,
        "target_raw": entry.target_raw,
        "value": entry.value or str(entry.raw.get("value") or ""),
        "why": entry.why,
        "source": entry.source,
        "reviewed_by": entry.reviewed_by,
        "reviewed_on": entry.reviewed_on,
        "status": status,
        "error": error,
    }


def _target(entry: Entry, stages: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """The one stored stage a stage_date entry corrects, or why there is none."""
    found = [
        r
        for r in stages
        if r["gone_at"] is None
        and r["origin"] in TARGET_ORIGINS
        and r["stage"] == entry.stage
        and (r["seq"] == entry.seq if entry.seq is not None else r["status_raw"] == entry.target_raw)
    ]
    what = f"seq {entry.seq}" if entry.seq is not None else f"狀態 {entry.target_raw!r}"
    if not found:
        return None, f"no stored {entry.stage} stage with {what} on bill {entry.bill_no}"
    if len(found) > 1:
        return None, f"{len(found)} {entry.stage} stages with {what} on bill {entry.bill_no}: name the seq"
    return found[0], ""


def _has_table(db: sqlite_utils.Database) -> bool:
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'corrections'"
    return db.conn.execute(sql).fetchone() is not None


def start_run(db: sqlite_utils.Database, path: Path, now: str) -> RunState:
    """Read the file once per run: table rows for every entry, a problem for each broken one,
    withdrawn rows for entries that left the file."""
    state = RunState(path)
    stored = {r["key"]: r for r in select(db.conn, "SELECT * FROM corrections")} if _has_table(db) else {}
    state.stored = stored
    try:
        entries, file_sha = load(path)
    except BadCorrections as exc:
        _problem(db, str(exc), str(path), None, {"file": str(path)})
        state.usable = False
        return state
    file_name = path.name
    bills = {e.bill_no for e in entries if not e.errors}
    known: set[str] = set()
    targets: dict[str, list[dict[str, Any]]] = {}
    if bills:
        marks = ",".join("?" for _ in bills)
        known = {
            b for (b,) in db.execute(f"SELECT bill_no FROM bills WHERE bill_no IN ({marks})", sorted(bills))
        }
        for r in select(db.conn, f"SELECT * FROM stages WHERE bill_no IN ({marks})", sorted(bills)):
            targets.setdefault(r["bill_no"], []).append(r)
    writes = []
    for entry in entries:
        error = "; ".join(entry.errors)
        status = "invalid" if error else "pending"
        if not error and entry.bill_no not in known:
            status, error = "no-such-bill", f"no bill {entry.bill_no} is stored"
        if status == "pending" and entry.field == "stage_date":
            target, why_not = _target(entry, targets.get(entry.bill_no, []))
            if target is None:
                status, error = "no-such-stage", why_not
        row = _row(entry, file_name, file_sha, status, error)
        old = stored.get(entry.key)
        if status == "pending":
            state.by_bill.setdefault(entry.bill_no, []).append(entry)
            if old is not None and old["status"] == "applied" and old["gone_at"] is None:
                row["status"] = "applied"  # stays applied unless its bill's reconcile finds otherwise
        else:
            where = f"{file_name} entry #{entry.index}" + (f" (line {entry.line})" if entry.line else "")
            _problem(
                db,
                f"{where}: {error}",
                str(path),
                entry.bill_no or None,
                {"entry": entry.raw, "key": entry.key},
            )
        if old is None or any(old.get(k) != v for k, v in row.items()) or old.get("gone_at") is not None:
            writes.append({**row, "gone_at": None})
    upsert(db.conn, "corrections", writes, ("key",))
    present = {e.key for e in entries}
    for key, old in stored.items():
        if key in present:
            continue
        if old["gone_at"] is None:
            old = {**old, "gone_at": now, "status": "withdrawn"}
            update(db.conn, "corrections", {"key": key}, {"gone_at": now, "status": "withdrawn"})
        if old["status"] == "withdrawn":  # what it applied is undone by its bill's reconcile
            state.withdrawn_by_bill.setdefault(old["bill_no"], []).append(old)
    return state


def run_state(reconciler: Reconciler) -> RunState:
    """This reconcile run's reading of the file (read on the first bill's hook call)."""
    state = _RUNS.get(reconciler)
    if state is None:
        path = corrections_path(getattr(reconciler, "corrections_path", None))
        state = start_run(reconciler.db, path, reconciler.now)
        _RUNS[reconciler] = state
    return state


# --- the hook ------------------------------------------------------------------------------------


def apply(reconciler: Reconciler, bill: BillInputs) -> None:
    """Reconcile's hook: apply this bill's corrections, withdraw those that left the file.

    Called after attach_sources (the stages sources report are in place, matched to the stored
    record as published) and before every step that derives from the bill's stages."""
    state = run_state(reconciler)
    if not state.usable:
        return
    entries = state.by_bill.get(bill.bill_no, [])
    wanted: set[str] = set()
    passes_changed = False  # a corrected 三讀 written or withdrawn in this run
    for entry in entries:
        found = _apply_stage(reconciler, bill, entry, state)
        if found is not None:
            seq, wrote = found
            wanted.add(entry.key)
            _mark_applied(reconciler, entry, seq)
            passes_changed |= wrote and entry.stage == "third-reading"
    stale = [
        (seq, row)
        for seq, row in bill.stages.items()
        if row["origin"] == SOURCE and row["gone_at"] is None and row["content_sha256"] not in wanted
    ]
    for seq, row in sorted(stale, key=lambda pair: pair[0]):
        note = f"{row['note']}; withdrawn: its entry left the corrections file"
        reconciler.update_stage(bill, seq, {"gone_at": reconciler.now, "note": note})
        for key in [k for k in bill.sources if k[0] == seq]:
            del bill.sources[key]  # attach_sources saw it live earlier in this run
        reconciler.counts["corrections_withdrawn"] += 1
        passes_changed |= row["stage"] == "third-reading"
    for old in state.withdrawn_by_bill.get(bill.bill_no, []):
        _update_row(reconciler, old["key"], {"status": "reverted"})
    if passes_changed:
        # propagate_merged ran before this hook: let it see the bill's own third readings as they
        # now are (a bill with a 三讀 of its own borrows none), so a second run writes nothing.
        reconciler.propagate_merged(bill)
        for key in [k for k in bill.sources if _withdrawn(bill.stages.get(k[0]))]:
            del bill.sources[key]  # a source's claim on a row withdrawn since it was made


def _corrected_row(
    bill: BillInputs,
    entry: Entry,
    seq: int,
    cite: str,
    target: dict[str, Any] | None,
    locator: str,
    fetched_at: str,
) -> dict[str, Any]:
    """The stages row an entry writes; `locator` names the entry when its source is no URL."""
    base = target or {}
    if target is not None:
        published = ", ".join(json.loads(target["dates"] or "[]")) or "no date"
        note = f"correction: the date of seq {target['seq']} (published: {published}) is {entry.value}"
    else:
        note = f"correction: {LABELS.get(entry.stage, entry.stage)} on {entry.value}"
    # where the fact comes from: the record it cites when that is a URL, else the entry itself
    source_url = entry.source if entry.source.startswith(("http://", "https://")) else locator
    return stage_row(
        bill.bill_no,
        seq,
        entry.stage,
        base.get("status_raw") or "",
        SOURCE,
        note,
        {"source": SOURCE, "source_url": source_url, "fetched_at": fetched_at, "content_sha256": entry.key},
        venue=base.get("venue") or "",
        venue_kind=base.get("venue_kind") or "",
        committee=base.get("committee") or "",
        session_code=base.get("session_code") or "",
        dates=[entry.value],
        on=entry.value,
        order_on=entry.value,
        evidence_kind=SOURCE,
        evidence=cite,
    )


def _apply_stage(
    reconciler: Reconciler, bill: BillInputs, entry: Entry, state: RunState
) -> tuple[int, bool] | None:
    """Write (or keep) the entry's stages row: (its seq, whether it was written), or None when
    its target is gone."""
    target = None
    if entry.field == "stage_date":
        target, why_not = _target(entry, [r for r in bill.stages.values() if r["origin"] != SOURCE])
        if target is None:
            _update_row(reconciler, entry.key, {"status": "no-such-stage", "error": why_not})
            return None
    mine = [
        seq for seq, r in bill.stages.items() if r["origin"] == SOURCE and r["content_sha256"] == entry.key
    ]
    seq = (
        min(mine)
        if mine
        else max((s + 1 for s in bill.stages if s >= CORRECTION_SEQ), default=CORRECTION_SEQ)
    )
    stored = bill.stages.get(seq)
    # when billtracker first read the entry: kept on every rewrite, so a re-run writes nothing
    fetched_at = (stored or {}).get("fetched_at") or reconciler.now
    locator = f"{state.path.name}#{entry.index}"
    row = _corrected_row(bill, entry, seq, entry.cite(state.path.name), target, locator, fetched_at)
    wrote = stored is None or any(stored.get(k) != v for k, v in row.items())
    if wrote:
        reconciler.write_stage(bill, row)
        reconciler.counts["corrections_applied"] += 1
    reconciler.claim(bill, seq, SOURCE, row["status_raw"], "stored", row["evidence"], row)
    if target is not None:
        # The published row stays as it is in the database; every later step (the derived third
        # readings, promulgation, the current stage) reads the bill's live stages in memory and
        # meets the corrected date instead.
        bill.stages[target["seq"]] = {**target, "gone_at": f"{STANDS_IN} seq {seq}"}
    return seq, wrote


def _withdrawn(row: dict[str, Any] | None) -> bool:
    """Gone in the database, not just set aside in memory for its corrected date."""
    gone = (row or {}).get("gone_at")
    return bool(gone) and not str(gone).startswith(STANDS_IN)


def _update_row(reconciler: Reconciler, key: str, changes: dict[str, Any]) -> None:
    """Write the entry's table row only where it differs: an unchanged file writes nothing."""
    row = select_one(reconciler.conn, "SELECT * FROM corrections WHERE key = ?", [key])
    if row is not None and any(row.get(k) != v for k, v in changes.items()):
        update(reconciler.conn, "corrections", {"key": key}, changes)


def _mark_applied(reconciler: Reconciler, entry: Entry, seq: int) -> None:
    row = select_one(reconciler.conn, "SELECT * FROM corrections WHERE key = ?", [entry.key])
    assert row is not None  # written by start_run for every entry
    changes: dict[str, Any] = {"status": "applied", "error": "", "stage_seq": seq}
    if row["status"] != "applied" or not row["applied_at"]:
        changes["applied_at"] = reconciler.now
    _update_row(reconciler, entry.key, changes)
