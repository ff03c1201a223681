"""Reconcile: many sources, one record per bill, and a ledger of every disagreement.

Runs after each crawl (ReconcilePipeline.close_spider, and `billtracker reconcile`), over what
is stored, so its result never depends on which spider ran first. Each step is idempotent:
re-running on unchanged data writes nothing new.

1. lis records carry 提案編號, not billNo: resolve them through bills.proposal_no.
2. A bill only a secondary source knows gets a `bills` row from it (one record per bill).
3. 併案: a committee's merged-review report (billNo digits 8-11 "0703") is linked to the
   proposals it merges on evidence only (pipelines/merged_reviews.py), and the report's own dated
   三讀 becomes a derived third reading of each proposal linked by evidence. A 三讀 another
   proposal of the report records is not this bill's evidence: it is never borrowed.
3b. Passed means evidenced: a source's status for this bill (議案狀態, dataset 20 billStatus,
   lis 進度) that says 三讀 where no stage does gives a third reading dated as that source dates
   it (or undated) and a `passed` disagreement with the flow; never "expired".
4. Every stage lists every source that reports it (`stage_sources`); a secondary source's event
   on a day no stage has becomes a stage of its own (origin 'source').
5. Fields the sources disagree on (status, title, filed_on, sponsors, a stage on one day) get a
   `disagreements` row with each reading; `bills` shows the reading pipelines/precedence.py picks.
6. The current stage is recomputed over all stages, with its evidence kind and the caveat the
   page and the API show; expiry is derived only from a record captured after the term ended
   (bills.as_of), and a derived expiry that no longer holds is marked gone_at, never deleted.
7. Sponsors are linked to `legislators` by every known spelling of their name.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from pipelines import corrections, history
from pipelines.date_doubts import filing_doubt
from pipelines.merged_reviews import REPORT_MARK, BillText, find_links, is_report, report_filed_on, title_key
from pipelines.names import alias_key, identities, person_key, sponsor_kind
from pipelines.normalise import DERIVED_SEQ, expiry_row
from pipelines.precedence import best, rank
from pipelines.problems import record_problem, resolve_problem
from pipelines.stage_machine import Event, State, capture_stamp, current_stage, stale_caveat, unknown_caveat
from pipelines.store_moj import ly_law_code
from scrapers.stages import LABELS, classify, clean_status
from scrapers.tw_ly.responses import utc_now

logger = logging.getLogger(__name__)

MERGED_SEQ = 1100  # derived third reading propagated from a merged-review report
PROMULGATED_SEQ = 1200  # derived promulgation from MOJ 沿革 / lis law versions
# The President promulgates within ten days of receiving a passed bill (憲法 §72); with the time
# the bill takes to reach the Presidential Office, a month covers every sample. A version further
# off is another amendment, not this bill's.
PROMULGATION_WINDOW_DAYS = 45
STATUS_SEQ = 1300  # derived third reading from a source's status for this bill (議案狀態 三讀)
SOURCE_SEQ = 2000  # an event only a secondary source reports


# Slugs that name one state in two vocabularies: lis says 一讀(委員會待審) for a bill LYAPI calls
# 交付審查 (1051006070201200), and 委員會審議中 for what LYAPI lists as 尚未審查 (CIO bill,
# 2017-03-22). Treating them as different would fill the ledger with wording, not disagreement.
SAME_STATE: dict[str, str] = {"first-reading": "referred", "committee-listed": "committee-review"}


def state_key(slug: str) -> str:
    return SAME_STATE.get(slug, slug)


def readings_sha(readings: list[dict[str, Any]]) -> str:
    pairs = sorted((r["source"], r["value"]) for r in readings)
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode()).hexdigest()


# Bills reconciled per chunk: their inputs are read with one query per table, so a backfill of
# 150k bills costs ~10 queries per chunk instead of ~40 per bill, and memory stays bounded.
CHUNK = 1000
_WRITE_SS = (
    "INSERT OR REPLACE INTO stage_sources (bill_no, seq, source, status_raw, role, note, source_url, "
    "fetched_at, content_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_SS = "DELETE FROM stage_sources WHERE bill_no = ? AND seq = ? AND source = ?"
# Columns of `bills` whose change can make a typed change event (history.diff): a bill whose
# reconcile touched none of them, nor its stages or sponsors, needs no snapshot afterwards.
_QUIET_BILL_COLUMNS = {"sources", "filed_on"}


@dataclass
class BillInputs:
    """What reconcile reads and writes of one bill, loaded with the rest of its chunk."""

    bill: dict[str, Any]  # the bills row as read before this bill was reconciled
    stages: dict[int, dict[str, Any]]  # seq -> stored row, gone ones too; kept in step with writes
    readings: list[dict[str, Any]]  # source_bills rows resolved to this bill
    events: dict[tuple[str, str], list[dict[str, Any]]]  # (source, source_key) -> source_stages rows
    lyapi_sponsors: list[dict[str, Any]]
    laws: list[str]
    merged: bool  # has merged_reviews rows
    open_disagreements: bool  # had disagreements rows not superseded
    stored_sources: dict[tuple[int, str], tuple[Any, ...]]  # stage_sources as stored
    sources: dict[tuple[int, str], tuple[Any, ...]] = field(default_factory=dict)  # as this run finds
    changed: bool = False  # a write that history.diff can see (stages, title, current stage)

    @property
    def bill_no(self) -> str:
        return self.bill["bill_no"]

    def live(self) -> list[dict[str, Any]]:
        """Stages not gone, in seq order (what `rows_where(... gone_at IS NULL)` returned)."""
        return [row for _, row in sorted(self.stages.items()) if row["gone_at"] is None]

    def latest_own_day(self) -> str:
        """The last day of the bill's own stages (its flow, a source's events for it): a pass
        derived for it is never dated before that ("" when it has none dated)."""
        own = [
            d
            for r in self.live()
            if r["origin"] in ("flow", "source")
            for d in (r["on"], r["second_on"])
            if d
        ]
        return max(own, default="")

    def third_readings(self) -> list[dict[str, Any]]:
        """Live 三讀 rows ordered by "on" (NULL first, as SQLite sorts), then seq."""
        rows = [r for r in self.live() if r["stage"] == "third-reading"]
        return sorted(rows, key=lambda r: (r["on"] is not None, r["on"] or "", r["seq"]))


def evidence_kind(row: dict[str, Any] | None) -> str | None:
    """A stage row's evidence kind; rows stored before kinds existed are known by their origin."""
    if row is None:
        return None
    return row.get("evidence_kind") or {"flow": "flow", "field": "field", "source": "source-event"}.get(
        row["origin"]
    )


def _marks(values: list[Any]) -> str:
    return ",".join("?" for _ in values)


class Reconciler:
    def __init__(self, db: sqlite_utils.Database, today: date) -> None:
        self.db = db
        self.today = today
        self.now = utc_now()
        self.counts: dict[str, int] = defaultdict(int)
        self._found: dict[str, set[str]] = {}  # bill -> fields found in disagreement this run
        self._has_versions = True  # any law_versions / lis_law_versions row (set by run)
        self._idents: dict[str, str] = {}  # sponsor spelling -> identity (see _sponsor_sets)

    # --- entry point ------------------------------------------------------------------------

    def run(self, run_id: int | None = None, only: set[str] | None = None) -> dict[str, int]:
        """Reconcile every bill, or with `only` just those bills plus the bills merged with
        them into one report (a crawl of LYAPI bills touches only what it fetched: walking all
        150k bills after a 100-bill refresh cost minutes). What it changes (a derived 三讀 or
        promulgation, a bill only a secondary source knows) becomes typed `changes` events.

        Bills go in chunks of CHUNK, in bill_no order: the steps before the loop write no row a
        history snapshot holds (except the bills they create, which are new-bill events), and a
        bill's reconcile writes only its own rows, so a chunk's snapshot taken just before it
        is the state the whole run started from."""
        with self.db.atomic():
            known = {b for (b,) in self.db.execute("select bill_no from bills")}
            self.resolve_source_bills()
            self.create_missing_bills()
            self.link_moj_laws()
            self.link_merged_reviews()
            stored = {b for (b,) in self.db.execute("select bill_no from bills")}
            created = stored - known
            del known
            scope = self.scope(only, stored) | created if only is not None else stored
            self._has_versions = any(
                self.db[t].exists() and self.db.execute(f"select 1 from {t} limit 1").fetchone()
                for t in ("law_versions", "lis_law_versions")
            )
            now = utc_now()
            ordered = sorted(scope)
            for start in range(0, len(ordered), CHUNK):
                self.reconcile_chunk(ordered[start : start + CHUNK], created, run_id, now)
        logger.info("reconcile: %s", dict(self.counts))
        return dict(self.counts)

    def reconcile_chunk(self, chunk: list[str], created: set[str], run_id: int | None, now: str) -> None:
        """Reconcile these bills; record the changes of those whose stored state changed."""
        before = history.snapshots(self.db, chunk)
        inputs = self.load(chunk, before)
        for bill in inputs:
            self.reconcile_bill(bill)
        self.write_stage_sources(inputs)
        linked = self.link_sponsors(chunk)
        changed = sorted({b.bill_no for b in inputs if b.changed} | linked | (created & set(chunk)))
        self.counts.setdefault("changes", 0)  # reported for any run with bills, as it always was
        after = history.snapshots(self.db, changed)
        for bill_no in changed:
            old = history.BillState(None) if bill_no in created else before[bill_no]
            new = after[bill_no]
            if old != new:
                self.counts["changes"] += len(history.record_changes(self.db, bill_no, old, new, run_id, now))

    def load(self, chunk: list[str], before: dict[str, history.BillState]) -> list[BillInputs]:
        """Every input of these bills' reconcile, one query per table."""
        marks = _marks(chunk)
        gone: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.db.query(
            f"SELECT * FROM stages WHERE bill_no IN ({marks}) AND gone_at IS NOT NULL", chunk
        ):
            gone[row["bill_no"]].append(row)
        readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.db.query(
            f"SELECT * FROM source_bills WHERE bill_no IN ({marks}) ORDER BY bill_no, source, source_key",
            chunk,
        ):
            readings[row["bill_no"]].append(row)
        events: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        if readings:
            for row in self.db.query(
                "SELECT ss.* FROM source_stages ss JOIN source_bills sb "
                "ON ss.source = sb.source AND ss.source_key = sb.source_key "
                f"WHERE sb.bill_no IN ({marks}) ORDER BY ss.source, ss.source_key, ss.seq",
                chunk,
            ):
                events[(row["source"], row["source_key"])].append(row)
        stored: dict[str, dict[tuple[int, str], tuple[Any, ...]]] = defaultdict(dict)
        for row in self.db.execute(
            "SELECT bill_no, seq, source, status_raw, role, note, source_url, fetched_at, content_sha256 "
            f"FROM stage_sources WHERE bill_no IN ({marks})",
            chunk,
        ):
            stored[row[0]][(row[1], row[2])] = tuple(row)
        merged = {
            b
            for (b,) in self.db.execute(
                f"SELECT bill_no FROM merged_reviews WHERE bill_no IN ({marks})", chunk
            )
        }
        disputed = {
            b
            for (b,) in self.db.execute(
                f"SELECT bill_no FROM disagreements WHERE bill_no IN ({marks}) AND superseded_at IS NULL",
                chunk,
            )
        }
        out = []
        for bill_no in chunk:
            state = before[bill_no]
            assert state.bill is not None
            stages = {r["seq"]: r for r in state.stages} | {r["seq"]: r for r in gone.get(bill_no, [])}
            out.append(
                BillInputs(
                    bill=state.bill,
                    stages=stages,
                    readings=readings.get(bill_no, []),
                    events=events,
                    lyapi_sponsors=[r for r in state.sponsors if r["source"] == "lyapi"],
                    laws=list(state.laws),
                    merged=bill_no in merged,
                    open_disagreements=bill_no in disputed,
                    stored_sources=stored.get(bill_no, {}),
                )
            )
        return out

    def write_stage_sources(self, inputs: list[BillInputs]) -> None:
        """stage_sources is derived from what is stored now, so it is rebuilt for each bill on every
        run (a source that stopped reporting an event no longer claims it); only rows that differ
        from the stored ones are written."""
        deletes, writes = [], []
        for bill in inputs:
            deletes += [(bill.bill_no, *key) for key in bill.stored_sources.keys() - bill.sources.keys()]
            writes += [row for key, row in bill.sources.items() if bill.stored_sources.get(key) != row]
        if deletes:
            self.db.conn.executemany(_DELETE_SS, deletes)
        if writes:
            self.db.conn.executemany(_WRITE_SS, writes)

    def scope(self, only: set[str] | None, stored: set[str] | None = None) -> set[str]:
        """Stored bills to reconcile: all, or `only` widened to their merged-review companions.
        `stored`: every stored bill_no, when the caller has just read them."""
        if stored is None:
            stored = {b for (b,) in self.db.execute("select bill_no from bills")}
        if only is None:
            return stored
        wanted = set(only) & stored
        if wanted and self.db["merged_reviews"].exists():
            # One read of the links, not an IN list of every wanted bill: after a full backfill
            # `only` holds 150k bills, past SQLite's limit of 250,000 variables twice over.
            members: dict[str, set[str]] = defaultdict(set)
            for report, bill_no in self.db.execute("select report_bill_no, bill_no from merged_reviews"):
                members[report].add(bill_no)
            for report in [r for r, bills in members.items() if r in wanted or bills & wanted]:
                wanted |= members[report]
                wanted.add(report)
        return wanted & stored

    # --- 1, 2 ---------------------------------------------------------------------------------

    def resolve_source_bills(self) -> None:
        """lis records -> billNo by 提案編號; when a 提案編號 covers several drafts (70委20031) or
        several bills, only the one whose title matches is resolved, never a guess."""
        pending = list(self.db["source_bills"].rows_where("bill_no IS NULL OR bill_no = ''"))
        numbers = sorted({row["proposal_no"] for row in pending if row["proposal_no"]})
        bills_by_no: dict[str, list[dict[str, Any]]] = defaultdict(list)
        sharing: dict[str, int] = defaultdict(int)
        for start in range(0, len(numbers), CHUNK):
            batch = numbers[start : start + CHUNK]
            for r in self.db.query(
                f"SELECT bill_no, proposal_no, title FROM bills WHERE proposal_no IN ({_marks(batch)})", batch
            ):
                bills_by_no[r["proposal_no"]].append(r)
            for number, count in self.db.execute(
                "SELECT proposal_no, count(*) FROM source_bills WHERE source = 'lis' "
                f"AND proposal_no IN ({_marks(batch)}) GROUP BY proposal_no",
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
                self.db["source_bills"].update(
                    (row["source"], row["source_key"]), {"bill_no": match[0]["bill_no"]}
                )
                self.counts["resolved"] += 1

    def create_missing_bills(self) -> None:
        rows = self.db.query(
            "SELECT * FROM source_bills WHERE bill_no IS NOT NULL AND bill_no != '' "
            "AND bill_no NOT IN (SELECT bill_no FROM bills) ORDER BY bill_no, source, source_key"
        )
        by_bill: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_bill[row["bill_no"]].append(row)
        for bill_no, readings in by_bill.items():
            top = min(readings, key=lambda r: rank("title", r["source"]))
            self.db["bills"].insert(
                {
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
                    "first_seen_at": self.now,
                    "updated_at": self.now,
                }
            )
            self.counts["bills_created"] += 1

    def link_moj_laws(self) -> None:
        """MOJ versions and articles (keyed by pcode) linked to the LY law of the same name, here
        and not when they are stored: the MOJ crawl may run before the LY laws it names arrive.
        A name no LY law has is one `unmatched-law` problem."""
        if not self.db["law_versions"].exists():
            return
        pending = list(
            self.db.query(
                "SELECT pcode, law_name, min(source_url) AS source_url FROM law_versions "
                "WHERE law_code IS NULL GROUP BY pcode, law_name ORDER BY pcode"
            )
        )
        for row in pending:
            code = ly_law_code(self.db, row["law_name"])
            problem = (
                "reconcile",
                "unmatched-law",
                f"no LY law named {row['law_name']!r} for MOJ {row['pcode']}",
                row["source_url"],
                None,
            )
            if code is None:
                record_problem(self.db, *problem)
                continue
            resolve_problem(self.db, *problem)
            self.db["laws"].update(code, {"moj_pcode": row["pcode"]})
            for table in ("law_versions", "law_articles"):
                self.db.execute(
                    f"UPDATE {table} SET law_code = ? WHERE pcode = ? AND law_code IS NULL",
                    [code, row["pcode"]],
                )
            self.counts["moj_laws_linked"] += 1

    # --- 3 ----------------------------------------------------------------------------------

    def _related(self, reports_only: bool) -> list[dict[str, Any]]:
        """関連議案 rows (related_bills, then the sources' own lists); with reports_only just those
        naming a report on one side (SQLite filters: a corpus without reports reads nothing)."""
        where = (
            " WHERE substr(bill_no, 8, 4) = ? OR substr(related_bill_no, 8, 4) = ?" if reports_only else ""
        )
        related = list(
            self.db.query(
                f"SELECT bill_no, related_bill_no, related_title, source_url FROM related_bills{where}",
                [REPORT_MARK, REPORT_MARK] if reports_only else [],
            )
        )
        for src in self.db.query(
            "SELECT bill_no, related, source_url FROM source_bills WHERE bill_no != '' "
            "AND related IS NOT NULL AND related NOT IN ('', '[]')"
        ):
            for r in json.loads(src["related"] or "[]"):
                if r.get("bill_no") and not (
                    reports_only and not (is_report(src["bill_no"]) or is_report(r["bill_no"]))
                ):
                    related.append(
                        {
                            "bill_no": src["bill_no"],
                            "related_bill_no": r["bill_no"],
                            "related_title": r.get("title", ""),
                            "source_url": src["source_url"],
                        }
                    )
        return related

    def link_merged_reviews(self) -> None:
        """merged_reviews rebuilt from what is stored (pipelines/merged_reviews.py): links on
        evidence only, each with its kind; a stored link the records no longer support goes."""
        related = self._related(reports_only=True)
        has_reports = (
            related
            or self.db.execute(
                "SELECT 1 FROM bills WHERE substr(bill_no, 8, 4) = ? LIMIT 1", [REPORT_MARK]
            ).fetchone()
        )
        found = {}
        if has_reports:
            names_reports = {
                r["bill_no"]
                for r in related
                if not is_report(r["bill_no"]) and is_report(r["related_bill_no"])
            }
            bills = [
                BillText(r[0], r[1] or "", r[2] or "", r[3], r[4], r[0] in names_reports)
                for r in self.db.execute(
                    "SELECT b.bill_no, b.title, b.proposer_text, "
                    '(SELECT min(s."on") FROM stages s WHERE s.bill_no = b.bill_no AND s.gone_at IS NULL '
                    " AND s.origin = 'flow' AND s.stage IN ('first-reading', 'referred')), "
                    '(SELECT min(s."on") FROM stages s WHERE s.bill_no = b.bill_no AND s.gone_at IS NULL '
                    " AND s.origin = 'flow' AND s.stage IN ('withdrawn', 'rejected', 'third-reading')) "
                    "FROM bills b"
                )
            ]
            found = find_links(related, bills)
        stored = {
            (r["report_bill_no"], r["bill_no"]): r
            for r in self.db.query("SELECT * FROM merged_reviews ORDER BY report_bill_no, bill_no")
        }
        gone = [key for key in stored if key not in found]
        if gone:
            self.db.conn.executemany(
                "DELETE FROM merged_reviews WHERE report_bill_no = ? AND bill_no = ?", gone
            )
        rows = []
        for key, link in found.items():
            row = {
                "report_bill_no": link.report_bill_no,
                "bill_no": link.bill_no,
                "report_title": link.report_title,
                "evidence": link.evidence,
                "source_url": link.source_url,
                "kind": link.kind,
            }
            if stored.get(key) != row:
                rows.append(row)
        if rows:
            self.db["merged_reviews"].upsert_all(rows, pk=("report_bill_no", "bill_no"))
        self.counts["merged_links"] = len(found)
        for link in found.values():
            self.counts[f"merged_links_{link.kind}"] += 1

    def report_third_reading(self, bill: BillInputs) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(the report's own dated 三讀, the link) that gives this bill its third reading, if any.
        Only links of evidence kinds count; only the report's own stages (never one derived for
        it, never another proposal's), dated no earlier than the report was filed and than this
        bill's own stages. Several reports: the earliest 三讀, then the lowest report number, so
        the result does not depend on the order the records arrived in."""
        links = list(
            self.db.query(
                "SELECT * FROM merged_reviews WHERE bill_no = ? AND kind IN ('related', 'title') "
                "ORDER BY report_bill_no",
                [bill.bill_no],
            )
        )
        if not links:
            return None
        latest_own = bill.latest_own_day()
        usable = []
        for link in links:
            report = link["report_bill_no"]
            filed = report_filed_on(report) or ""
            for row in self.db.query(
                "SELECT * FROM stages WHERE bill_no = ? AND stage = 'third-reading' AND gone_at IS NULL "
                "AND origin IN ('flow', 'source') AND \"on\" IS NOT NULL ORDER BY \"on\", seq",
                [report],
            ):
                if row["on"] >= filed and row["on"] >= latest_own:
                    usable.append((row["on"], report, row["seq"], row, link))
                else:
                    self.counts["report_third_readings_refused"] += 1
                    self.disagree(
                        bill.bill_no,
                        "report 三讀",
                        [
                            self._reading("report", f"{report} 三讀 {row['on']}", row),
                            self._reading(
                                "lyapi",
                                f"report filed {filed}; this bill's own latest stage {latest_own}",
                                bill.bill,
                            ),
                        ],
                        "stages",
                    )
        if not usable:
            return None
        _, _, _, row, link = min(usable, key=lambda u: u[:3])
        return row, link

    def _third_readings(self, bill_nos: list[str]) -> list[dict[str, Any]]:
        if not bill_nos:
            return []
        marks = ",".join("?" for _ in bill_nos)
        return list(
            self.db.query(
                f"SELECT * FROM stages WHERE bill_no IN ({marks}) AND stage = 'third-reading' "
                'AND gone_at IS NULL ORDER BY "on", bill_no, seq',
                bill_nos,
            )
        )

    # --- 4, 5, 6 per bill ----------------------------------------------------------------------

    def reconcile_bill(self, bill: BillInputs) -> None:
        self.propagate_merged(bill)
        self.attach_sources(bill)
        # Reviewed corrections (billtracker/corrections.toml): after the stages sources report are
        # matched to the record as published, before every step that derives from the bill's
        # stages, so all of them count a corrected stage in the same run.
        corrections.apply(self, bill)
        self.status_third_reading(bill)
        self.ledger(bill)
        self.passed_ledger(bill)
        self.derive_promulgation(bill)
        self.recompute_stage(bill)
        self.settle_the_rest(bill)

    def _stage_written(self, bill: BillInputs, seq: int) -> None:
        """Keep the in-memory stages in step with a write (rare: derived rows, gone_at)."""
        bill.stages[seq] = next(self.db["stages"].rows_where("bill_no = ? AND seq = ?", [bill.bill_no, seq]))
        bill.changed = True

    def propagate_merged(self, bill: BillInputs) -> None:
        bill_no = bill.bill_no
        stored = [r for r in bill.third_readings() if r["seq"] not in (MERGED_SEQ, STATUS_SEQ)]
        if stored:
            self.withdraw(bill, MERGED_SEQ, "the bill has a third reading of its own")
            return
        found = self.report_third_reading(bill) if bill.merged else None
        if found is None:
            self.withdraw(bill, MERGED_SEQ, "no linked report's own dated 三讀 is stored")
            return
        evidence, link = found
        report = link["report_bill_no"]
        text = (
            f"三讀 of the merged-review report {report} on {evidence['on']} ({evidence['status_raw']}, "
            f"{evidence['source_url']}); linked by {link['kind']}: {link['evidence']}"
        )
        note = f"derived: {text}"
        existing = bill.stages.get(MERGED_SEQ)
        same = existing and (existing["note"], existing["on"], existing["evidence"]) == (
            note,
            evidence["on"],
            text,
        )
        if not (same and not existing["gone_at"]):  # else: already derived from the same evidence
            self._write_merged(bill_no, evidence, note, text)
            self._stage_written(bill, MERGED_SEQ)
            self.counts["merged_third_readings"] += 1
        self._stage_source(
            bill, MERGED_SEQ, evidence["source"], evidence["status_raw"], "evidence", note, evidence
        )

    def status_third_reading(self, bill: BillInputs) -> None:
        """A source's status for this bill that says 三讀 where no stage does: a third reading
        dated as that source dates it, or undated (1050425070200200: 議案狀態 三讀, the flow ends
        at 委員會發文; the 三讀 is on its report, which no record here holds). Never expired."""
        saying = self._statuses_passed(bill)
        others = [r for r in bill.third_readings() if r["seq"] != STATUS_SEQ]
        if others or not saying:
            why = "a stage of its own records the third reading" if others else "no source's status says 三讀"
            self.withdraw(bill, STATUS_SEQ, why)
            return
        latest_own = bill.latest_own_day()
        dated = sorted(r["on"] for r in saying if r["on"] and r["on"] >= latest_own)
        on = dated[0] if dated else None
        top = min(saying, key=lambda r: rank("status", r["source"]))
        text = "; ".join(
            f"{r['source']} {r['field']} {r['raw']}"
            + (f" ({r['on']})" if r["on"] else "")
            + f" at {r['source_url']}"
            for r in saying
        )
        if not on:
            text += "; no source dates it"
        row = {
            "bill_no": bill.bill_no,
            "seq": STATUS_SEQ,
            "stage": "third-reading",
            "stage_label": LABELS["third-reading"],
            "status_raw": top["raw"],
            "origin": "derived",
            "note": f"derived: a source's status for this bill says 三讀: {text}",
            "venue": "",
            "venue_kind": "",
            "committee": "",
            "session_code": "",
            "meeting_codes": "[]",
            "dates": json.dumps([on] if on else []),
            "on": on,
            "second_on": None,
            "order_on": on,
            "source": top["source"],
            "source_url": top["source_url"],
            "fetched_at": top["fetched_at"],
            "content_sha256": top["content_sha256"],
            "gone_at": None,
            "evidence_kind": "source-status",
            "evidence": text,
        }
        existing = bill.stages.get(STATUS_SEQ)
        if (
            existing is None
            or existing["gone_at"]
            or any(existing.get(k) != row[k] for k in ("on", "evidence", "note"))
        ):
            self.db["stages"].upsert(row, pk=("bill_no", "seq"))
            self._stage_written(bill, STATUS_SEQ)
            self.counts["status_third_readings"] += 1
        self._stage_source(bill, STATUS_SEQ, top["source"], top["raw"], "evidence", row["note"], top)

    def _statuses_passed(self, bill: BillInputs) -> list[dict[str, Any]]:
        """Every source status of this bill that says 三讀, with its date and provenance."""
        return [s for s in self._statuses(bill) if classify(s["raw"]) == "third-reading"]

    @staticmethod
    def _status_reading(
        source: str, field_name: str, raw: str, on: str | None, prov: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "source": source,
            "field": field_name,
            "raw": raw,
            "on": on,
            "source_url": prov.get("source_url") or "",
            "fetched_at": prov.get("fetched_at") or "",
            "content_sha256": prov.get("content_sha256") or "",
        }

    def passed_ledger(self, bill: BillInputs) -> None:
        """Where the bill's own flow and a source's status disagree on whether it passed, a
        `passed` disagreement with every reading; the one that says 三讀 is what is shown."""
        flow = [r for r in bill.live() if r["origin"] == "flow"]
        statuses = self._statuses(bill)
        if not flow or not statuses:
            return
        flow_passed = [r for r in flow if r["stage"] == "third-reading"]
        status_passed = [s for s in statuses if classify(s["raw"]) == "third-reading"]
        if bool(flow_passed) == bool(status_passed) and (
            not flow_passed or len(status_passed) == len(statuses)
        ):
            return  # they agree: all say 三讀, or none does
        last = flow_passed[0] if flow_passed else max(flow, key=lambda r: (r["order_on"] or "", r["seq"]))
        flow_reading = self._reading(
            "flow", f"{last['status_raw']} ({last['stage']}) {last['on'] or 'undated'}", last
        )
        status_readings = [
            (s, self._reading(s["source"], s["raw"] + (f" {s['on']}" if s["on"] else ""), s))
            for s in statuses
        ]
        if flow_passed:
            chosen = flow_reading
        else:
            top = min(status_passed, key=lambda s: rank("status", s["source"]))
            chosen = next(reading for s, reading in status_readings if s is top)
        readings = [flow_reading] + [reading for _, reading in status_readings]
        self.disagree(bill.bill_no, "passed", readings, "status", chosen=(chosen["source"], chosen["value"]))

    def _statuses(self, bill: BillInputs) -> list[dict[str, Any]]:
        """Every source's latest-status reading of this bill, with its date and provenance."""
        out = []
        raw = clean_status(bill.bill["status_raw"] or "")
        if bill.bill["source"] == "lyapi" and raw:
            out.append(self._status_reading("lyapi", "議案狀態", raw, None, bill.bill))
        for r in bill.readings:
            if r["status_raw"]:
                field_name = {"opendata": "billStatus", "lis": "進度"}.get(r["source"], "議案狀態")
                out.append(self._status_reading(r["source"], field_name, r["status_raw"], r["status_on"], r))
        return out

    def withdraw(self, bill: BillInputs, seq: int, why: str) -> None:
        """A derived row whose evidence is gone is marked gone_at (kept, never deleted)."""
        row = bill.stages.get(seq)
        if row is not None and row["gone_at"] is None:
            self.db["stages"].update(
                (bill.bill_no, seq), {"gone_at": self.now, "note": f"{row['note']}; evidence gone: {why}"}
            )
            self._stage_written(bill, seq)
            self.counts["derived_withdrawn"] += 1

    def _write_merged(self, bill_no: str, evidence: dict[str, Any], note: str, text: str) -> None:
        self.db["stages"].upsert(
            {
                "bill_no": bill_no,
                "seq": MERGED_SEQ,
                "stage": "third-reading",
                "stage_label": LABELS["third-reading"],
                "status_raw": evidence["status_raw"],
                "origin": "derived",
                "note": note,
                "venue": evidence["venue"],
                "venue_kind": evidence["venue_kind"],
                "committee": "",
                "session_code": evidence["session_code"],
                "meeting_codes": evidence["meeting_codes"],
                "dates": evidence["dates"],
                "on": evidence["on"],
                "second_on": evidence["second_on"],
                "order_on": evidence["order_on"],
                "source": "reconcile",
                "source_url": evidence["source_url"],
                "fetched_at": evidence["fetched_at"],
                "content_sha256": evidence["content_sha256"],
                "gone_at": None,
                "evidence_kind": "report",
                "evidence": text,
            },
            pk=("bill_no", "seq"),
        )

    def promulgations(self, law_codes: list[str]) -> list[dict[str, Any]]:
        """Every promulgation of these laws: MOJ 沿革 (law_versions, tw_law_moj) and lis versions."""
        if not law_codes or not self._has_versions:
            return []
        marks = ",".join("?" for _ in law_codes)
        found: list[dict[str, Any]] = []
        if self.db["law_versions"].exists():
            for r in self.db.query(
                f"SELECT * FROM law_versions WHERE law_code IN ({marks}) AND promulgated_on IS NOT NULL",
                law_codes,
            ):
                found.append(
                    {**r, "source": "moj", "on": r["promulgated_on"], "what": f"MOJ 沿革 {r['text_raw']}"}
                )
        for r in self.db.query(
            f"SELECT * FROM lis_law_versions WHERE law_code IN ({marks}) "
            "AND action = '公布' AND \"on\" IS NOT NULL",
            law_codes,
        ):
            found.append({**r, "source": "lis", "what": f"lis law version {r['text_raw']}"})
        return found

    def derive_promulgation(self, bill: BillInputs) -> None:
        """A passed bill's law promulgated within PROMULGATION_WINDOW_DAYS after its 三讀 -> a
        derived `promulgated` stage citing the 沿革 entry; MOJ first, lis second (precedence)."""
        bill_no = bill.bill_no
        passed = [r for r in bill.third_readings() if r["on"]]
        laws = bill.laws
        if not passed or not laws:
            self.withdraw(bill, PROMULGATED_SEQ, "no third reading is stored")
            return
        third = date.fromisoformat(passed[0]["on"])
        candidates = [
            p
            for p in self.promulgations(laws)
            if 0 <= (date.fromisoformat(p["on"]) - third).days <= PROMULGATION_WINDOW_DAYS
        ]
        if not candidates:
            self.withdraw(bill, PROMULGATED_SEQ, "no promulgation follows the third reading")
            return
        by_source: dict[str, dict[str, Any]] = {}
        for p in sorted(candidates, key=lambda p: p["on"]):
            by_source.setdefault(p["source"], p)
        if len({p["on"] for p in by_source.values()}) > 1:
            self.disagree(
                bill_no,
                "promulgated_on",
                [self._reading(src, p["on"], p) for src, p in by_source.items()],
                "promulgated",
            )
        chosen_source, chosen = best("promulgated", list(by_source.items())) or ("", None)
        assert chosen is not None
        note = (
            f"derived: {chosen['what']} ({chosen['on']}), the first promulgation of law "
            f"{chosen['law_code']} after the 三讀 of {passed[0]['on']}"
        )
        existing = bill.stages.get(PROMULGATED_SEQ)
        unchanged = existing and (existing["note"], existing["source_url"]) == (note, chosen["source_url"])
        if not (unchanged and not existing["gone_at"]):  # else: already derived from the same evidence
            self._write_promulgation(bill_no, chosen_source, chosen, note)
            self._stage_written(bill, PROMULGATED_SEQ)
            self.counts["promulgations"] += 1
        for src, p in by_source.items():
            if p["on"] == chosen["on"]:
                self._stage_source(bill, PROMULGATED_SEQ, src, p["text_raw"], "evidence", p["what"], p)

    def _write_promulgation(
        self, bill_no: str, chosen_source: str, chosen: dict[str, Any], note: str
    ) -> None:
        self.db["stages"].upsert(
            {
                "bill_no": bill_no,
                "seq": PROMULGATED_SEQ,
                "stage": "promulgated",
                "stage_label": LABELS["promulgated"],
                "status_raw": chosen["text_raw"],
                "origin": "derived",
                "note": note,
                "venue": "",
                "venue_kind": "",
                "committee": "",
                "session_code": "",
                "meeting_codes": "[]",
                "dates": json.dumps([chosen["on"]]),
                "on": chosen["on"],
                "second_on": None,
                "order_on": chosen["on"],
                "source": chosen_source,
                "source_url": chosen["source_url"],
                "fetched_at": chosen["fetched_at"],
                "content_sha256": chosen["content_sha256"],
                "gone_at": None,
                "evidence_kind": "law-version",
                "evidence": f"{chosen['what']} on {chosen['on']} ({chosen['source_url']})",
            },
            pk=("bill_no", "seq"),
        )

    def _stage_source(
        self, bill: BillInputs, seq: int, source: str, raw: str, role: str, note: str, prov: dict[str, Any]
    ) -> None:
        """The stage_sources row this run finds (the last reading of (seq, source) wins, as the
        upserts did); written by write_stage_sources."""
        bill.sources[(seq, source)] = (
            bill.bill_no,
            seq,
            source,
            raw,
            role,
            note,
            prov["source_url"],
            prov["fetched_at"],
            prov["content_sha256"],
        )

    def attach_sources(self, bill: BillInputs) -> None:
        stages = bill.live()
        for row in stages:
            # a secondary source's own row is claimed below, by the event that still reports it
            if row["origin"] not in ("derived", "source"):
                self._stage_source(bill, row["seq"], row["source"], row["status_raw"], "stored", "", row)
        for reading in sorted(bill.readings, key=lambda r: rank("stages", r["source"])):
            for event in bill.events.get((reading["source"], reading["source_key"]), []):
                if not event["on"] or event["stage"] == "unknown":
                    continue
                self._attach_event(bill, stages, event)
        supported = {seq for seq, _ in bill.sources if seq >= SOURCE_SEQ}
        for row in stages:
            if row["origin"] == "source" and row["seq"] not in supported:
                self.withdraw(bill, row["seq"], f"{row['source']} no longer reports it")

    def _attach_event(self, bill: BillInputs, stages: list[dict[str, Any]], event: dict[str, Any]) -> None:
        bill_no, source = bill.bill_no, event["source"]
        same_day = [r for r in stages if event["on"] in (r["on"], r["second_on"])]
        match = [r for r in same_day if r["stage"] == event["stage"]]
        match = match or [r for r in same_day if state_key(r["stage"]) == state_key(event["stage"])]
        if match:
            row = match[0]
            role = "stored" if row["source"] == source else "confirms"
            self._stage_source(bill, row["seq"], source, event["status_raw"], role, "", event)
            return
        if same_day:
            other = min(same_day, key=lambda r: rank("stages", r["source"]))
            self.disagree(
                bill_no,
                f"stage on {event['on']}",
                [
                    self._reading(other["source"], f"{other['stage']} ({other['status_raw']})", other),
                    self._reading(source, f"{event['stage']} ({event['status_raw']})", event),
                ],
                "stages",
            )
            if rank("stages", source) >= rank("stages", other["source"]):
                return
        seq = self._next_source_seq(bill)
        row = {
            "bill_no": bill_no,
            "seq": seq,
            "stage": event["stage"],
            "stage_label": LABELS.get(event["stage"], ""),
            "status_raw": event["status_raw"],
            "origin": "source",
            "note": f"only {source} reports this event",
            "venue": event["venue"],
            "venue_kind": "plenary" if event["venue"] == "院會" else ("committee" if event["venue"] else ""),
            "committee": event["venue"] if event["venue"] not in ("", "院會") else "",
            "session_code": event["session_code"],
            "meeting_codes": "[]",
            "dates": json.dumps([d for d in (event["on"], event["second_on"]) if d]),
            "on": event["on"],
            "second_on": event["second_on"],
            "order_on": event["on"],
            "source": source,
            "source_url": event["source_url"],
            "fetched_at": event["fetched_at"],
            "content_sha256": event["content_sha256"],
            "gone_at": None,
            "evidence_kind": "source-event",
            "evidence": f"{source}: {event['status_raw']} on {event['on']} ({event['source_url']})",
        }
        self.db["stages"].insert(row)
        self._stage_written(bill, seq)
        stages.append(row)
        self._stage_source(bill, seq, source, event["status_raw"], "stored", "", event)
        self.counts["source_stages_added"] += 1

    @staticmethod
    def _next_source_seq(bill: BillInputs) -> int:
        return max((seq + 1 for seq in bill.stages if seq >= SOURCE_SEQ), default=SOURCE_SEQ)

    def _update_bill(self, bill: BillInputs, updates: dict[str, Any]) -> None:
        columns = sorted(updates)
        self.db.conn.execute(
            "UPDATE bills SET " + ", ".join(f'"{c}" = ?' for c in columns) + " WHERE bill_no = ?",
            [updates[c] for c in columns] + [bill.bill_no],
        )
        if set(columns) - _QUIET_BILL_COLUMNS:
            bill.changed = True

    def ledger(self, inputs: BillInputs) -> None:
        """Compare each field across sources; record disagreements; apply precedence to `bills`."""
        bill, readings = inputs.bill, inputs.readings
        bill_no = bill["bill_no"]
        primary = bill["source"] == "lyapi"
        fields: dict[str, list[tuple[dict[str, Any], Any]]] = defaultdict(list)  # field -> (reading, key)
        sponsors_by_source = self._sponsor_sets(inputs)
        if primary:
            raw = clean_status(bill["status_raw"] or "")
            if raw:
                fields["status"].append((self._reading("lyapi", raw, bill), state_key(classify(raw))))
            if bill["title"]:
                fields["title"].append(
                    (self._reading("lyapi", bill["title"], bill), title_key(bill["title"]))
                )
            if bill["filed_on"]:
                fields["filed_on"].append((self._reading("lyapi", bill["filed_on"], bill), bill["filed_on"]))
        for r in readings:
            if r["status_raw"]:
                status_key = state_key(r["status_stage"])
                fields["status"].append((self._reading(r["source"], r["status_raw"], r), status_key))
            if r["title"]:
                fields["title"].append((self._reading(r["source"], r["title"], r), title_key(r["title"])))
            if r["filed_on"]:
                fields["filed_on"].append((self._reading(r["source"], r["filed_on"], r), r["filed_on"]))
        for source, (names, prov) in sponsors_by_source.items():
            fields["sponsors"].append((self._reading(source, "、".join(names), prov), tuple(sorted(names))))
        updates: dict[str, Any] = {}
        # A doubted filing date (outside the term, after the first reading) is never the fact,
        # whichever source published it: pipelines/date_doubts.py.
        first_flow_on = min(
            (r["on"] for r in inputs.live() if r["origin"] == "flow" and r["on"]), default=None
        )
        for field_name, pairs in fields.items():
            if len({key for _, key in pairs}) > 1:
                self.disagree(bill_no, field_name, [reading for reading, _ in pairs], field_name)
            usable = [
                (reading["source"], reading["value"])
                for reading, _ in pairs
                if field_name != "filed_on" or not filing_doubt(reading["value"], bill["term"], first_flow_on)
            ]
            chosen = best(field_name, usable)
            if field_name == "filed_on" and chosen is None and bill["filed_on"] is not None:
                updates["filed_on"] = None
            if chosen and field_name in ("title", "filed_on") and bill[field_name] != chosen[1]:
                updates[field_name] = chosen[1]
        sources = sorted({"lyapi"} if primary else set()) + sorted({r["source"] for r in readings})
        updates["sources"] = json.dumps(sources)
        changed = {k: v for k, v in updates.items() if bill.get(k) != v}
        if changed:
            # the columns whose stored value differs: writing the equal ones too changed nothing
            self._update_bill(inputs, changed)

    def _sponsor_sets(self, bill: BillInputs) -> dict[str, tuple[list[str], dict[str, Any]]]:
        """Per source: the sponsors as one identity each (legislator id when known)."""
        index = self.alias_index()

        def ident(raw: str) -> list[str]:
            found = self._idents.get(raw)
            if found is None:  # ~200 legislators sponsor every bill: each spelling is keyed once a run
                found = identities(raw, index)
                self._idents[raw] = found
            return found

        out: dict[str, tuple[list[str], dict[str, Any]]] = {}
        rows = bill.lyapi_sponsors
        if rows:
            prov = {"source_url": rows[0]["source_url"], "fetched_at": ""}
            out["lyapi"] = (sorted({i for r in rows for i in ident(r["name_raw"])}), prov)
        for r in bill.readings:
            names = json.loads(r["proposers"] or "[]") + json.loads(r["cosponsors"] or "[]")
            if names:
                out[r["source"]] = (sorted({i for n in names for i in ident(n)}), r)
        return out

    @staticmethod
    def _reading(source: str, value: str, prov: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": source,
            "value": value,
            "source_url": prov.get("source_url") or "",
            "fetched_at": prov.get("fetched_at") or "",
        }

    def settle(self, bill_no: str, field: str, keep: str = "") -> None:
        """The field's earlier disagreements no longer describe the sources: mark them superseded
        (kept, never deleted), so the ledger's current view shows one row per open question."""
        self.db.execute(
            "UPDATE disagreements SET superseded_at = ? WHERE bill_no = ? AND field = ? "
            "AND readings_sha256 != ? AND superseded_at IS NULL",
            [self.now, bill_no, field, keep],
        )

    def settle_the_rest(self, bill: BillInputs) -> None:
        """Open disagreements of this bill that this run no longer found (the sources now agree,
        or a field stopped being reported) are superseded: kept, no longer current."""
        bill_no = bill.bill_no
        if not bill.open_disagreements and bill_no not in self._found:
            return  # none was open and none was found: nothing to settle
        found = self._found.get(bill_no, set())
        rows = list(self.db["disagreements"].rows_where("bill_no = ? AND superseded_at IS NULL", [bill_no]))
        for row in rows:
            if row["field"] not in found:
                self.db["disagreements"].update(row["id"], {"superseded_at": self.now})
                self.counts["disagreements_settled"] += 1

    def disagree(
        self,
        bill_no: str,
        field: str,
        readings: list[dict[str, Any]],
        precedence_field: str,
        chosen: tuple[str, str] | None = None,
    ) -> None:
        """Record (or refresh) one open disagreement; `chosen`: the reading shown, when a rule
        other than source precedence picks it (a 三讀 outranks a flow that stops earlier)."""
        self._found.setdefault(bill_no, set()).add(field)
        sha = readings_sha(readings)
        self.settle(bill_no, field, keep=sha)
        existing = next(
            self.db["disagreements"].rows_where(
                "bill_no = ? AND field = ? AND readings_sha256 = ?", [bill_no, field, sha]
            ),
            None,
        )
        if existing:
            self.db["disagreements"].update(existing["id"], {"last_seen_at": self.now, "superseded_at": None})
            return
        chosen = chosen or best(precedence_field, [(r["source"], r["value"]) for r in readings])
        self.db["disagreements"].insert(
            {
                "bill_no": bill_no,
                "field": field,
                "summary": " | ".join(f"{r['source']}: {r['value']}" for r in readings),
                "readings": json.dumps(readings, ensure_ascii=False),
                "chosen_source": chosen[0] if chosen else "",
                "chosen_value": chosen[1] if chosen else "",
                "readings_sha256": sha,
                "detected_at": self.now,
                "last_seen_at": self.now,
                "superseded_at": None,
            }
        )
        self.counts["disagreements"] += 1

    def as_of(self, inputs: BillInputs) -> str | None:
        """The newest capture of any record of this bill: nothing after it is known."""
        stamps = [capture_stamp(inputs.bill.get("as_of"))]
        stamps += [capture_stamp(r.get("captured_at") or r.get("fetched_at")) for r in inputs.readings]
        return max((s for s in stamps if s), default=None)

    def recompute_stage(self, inputs: BillInputs) -> None:
        """Current stage over every live stage, with the evidence it rests on and the caveat
        the page and the API show. Expiry is derived here from the bill's newest capture of
        any source; one that no longer holds is marked gone_at (kept, never deleted)."""
        bill, bill_no = inputs.bill, inputs.bill_no
        rows = inputs.live()
        events = [
            Event(r["seq"], r["stage"], r["on"], r["session_code"] or "", r["order_on"] or r["on"])
            for r in rows
            if r["stage"] != "expired"
        ]
        as_of = self.as_of(inputs)
        if not events:
            self.no_stage(inputs, as_of)
            return
        state = current_stage(events, bill["term"], self.today, as_of)
        expiry = inputs.stages.get(DERIVED_SEQ)
        if state.slug == "expired":
            assert state.on is not None and as_of is not None
            prov = {k: bill[k] for k in ("source", "source_url", "fetched_at", "content_sha256")}
            row = expiry_row(bill_no, bill["term"], state.on, as_of, prov)
            if expiry is None or expiry["gone_at"] or expiry.get("evidence") != row["evidence"]:
                self.db["stages"].upsert(row, pk=("bill_no", "seq"))
                self._stage_written(inputs, DERIVED_SEQ)
                self.counts["expiries"] += 1
        elif expiry is not None and expiry["gone_at"] is None and expiry["origin"] == "derived":
            self.db["stages"].update(
                (bill_no, DERIVED_SEQ),
                {
                    "gone_at": self.now,
                    "note": (expiry["note"] or "") + f"; undone: current stage is {state.slug}",
                },
            )
            self._stage_written(inputs, DERIVED_SEQ)
        current = inputs.stages.get(state.seq) if state.seq is not None else None
        update = {
            "current_stage": state.slug,
            "current_stage_label": LABELS.get(state.slug or "", ""),
            "current_stage_on": state.on,
            "current_stage_derived": int(state.derived),
            "current_stage_evidence": "term-ended" if state.derived else evidence_kind(current),
            "current_stage_caveat": self.caveat(inputs, state, current),
            "as_of": as_of,
        }
        if any(bill.get(k) != v for k, v in update.items()):
            self._update_bill(inputs, update)
            self.counts["stages_recomputed"] += 1

    def no_stage(self, inputs: BillInputs, as_of: str | None) -> None:
        """A bill no source gives a dated stage (a dataset-20 row alone): its stage is
        `unknown`, never blank (the page showed "None"), and the caveat names the raw statuses
        the sources do give. An undated status is not a stage: it is not used as one."""
        statuses = ", ".join(f"{s['source']} {s['field']} {s['raw']}" for s in self._statuses(inputs))
        caveat = "no source records a dated stage of this bill" + (
            f"; latest status per {statuses}" if statuses else ""
        )
        update = {
            "current_stage": "unknown",
            "current_stage_label": LABELS["unknown"],
            "current_stage_on": None,
            "current_stage_derived": 0,
            "current_stage_evidence": None,
            "as_of": as_of,
            "current_stage_caveat": caveat,
        }
        if any(inputs.bill.get(k) != v for k, v in update.items()):
            self._update_bill(inputs, update)

    @staticmethod
    def caveat(inputs: BillInputs, state: State, current: dict[str, Any] | None) -> str:
        """What must be said beside the stage: data too old to settle it, a pass only a
        source's status gives, a stage no source dates."""
        said = []
        if state.stale_since is not None:
            said.append(stale_caveat(inputs.bill["term"], state))
        if state.slug == "unknown" and current is not None:
            said.append(unknown_caveat(current.get("status_raw"), state.on))
        if current is not None and current.get("evidence_kind") in ("source-status", "report"):
            flow = [r for r in inputs.live() if r["origin"] == "flow"]
            last = max(flow, key=lambda r: (r["order_on"] or "", r["seq"])) if flow else None
            where = (
                f"; the bill's own 議案流程 ends at {last['status_raw']} ({last['on'] or 'undated'})"
                if last
                else ""
            )
            said.append(f"{LABELS.get(state.slug or '', '')} per {current['evidence']}{where}")
        undated_said = current is not None and "no source dates it" in (current.get("evidence") or "")
        if current is not None and state.slug and not state.on and not state.derived and not undated_said:
            said.append(f"{LABELS.get(state.slug, '')}: no source dates this stage")
        return "; ".join(said)

    # --- 7 ----------------------------------------------------------------------------------

    _alias_index: dict[str, str] | None = None

    def alias_index(self) -> dict[str, str]:
        if self._alias_index is None:
            index: dict[str, str] = {}
            for row in self.db["legislators"].rows:
                for alias in json.loads(row["aliases"] or "[]"):
                    index.setdefault(alias_key(alias), row["id"])
            self._alias_index = index
        return self._alias_index

    def fill_sponsors(self, bill_nos: list[str]) -> set[str]:
        """A proposer named by any source is stored: a role (proposer, cosponsor) LYAPI lists
        nobody for gets the people the best other source names (pipelines/precedence.py), with
        that source and its URL. 1060519070202300: LYAPI's 提案人 is empty, dataset 20 names
        陳其邁; the bills only dataset 20 knows have no LYAPI record at all. Rows from another
        source are rebuilt from what it says now; returns the bills whose rows changed."""
        if not bill_nos:
            return set()
        marks = _marks(bill_nos)
        stored: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for row in self.db.execute(
            "SELECT bill_no, role, seq, name_raw, source, source_url FROM sponsors"
            f" WHERE bill_no IN ({marks}) ORDER BY bill_no, role, seq",
            bill_nos,
        ):
            stored[row[0]].append(tuple(row))
        readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.db.query(
            "SELECT bill_no, source, source_url, proposers, cosponsors FROM source_bills"
            f" WHERE bill_no IN ({marks}) ORDER BY bill_no, source, source_key",
            bill_nos,
        ):
            readings[row["bill_no"]].append(row)
        changed = set()
        for bill_no in bill_nos:
            rows = stored.get(bill_no, [])
            lyapi_roles = {r[1] for r in rows if r[4] == "lyapi"}
            want: list[tuple[Any, ...]] = []
            for role, column in (("proposer", "proposers"), ("cosponsor", "cosponsors")):
                if role in lyapi_roles:
                    continue
                named = [(r["source"], r) for r in readings.get(bill_no, []) if json.loads(r[column] or "[]")]
                chosen = best("sponsors", named)
                if chosen:
                    names = json.loads(chosen[1][column])
                    want += [
                        (bill_no, role, i, n, chosen[0], chosen[1]["source_url"]) for i, n in enumerate(names)
                    ]
            want.sort(key=lambda r: (r[1], r[2]))
            have = [r for r in rows if r[4] != "lyapi"]
            if have == want:
                continue
            self.db.conn.execute("DELETE FROM sponsors WHERE bill_no = ? AND source != 'lyapi'", [bill_no])
            self.db.conn.executemany(
                "INSERT INTO sponsors (bill_no, role, seq, name_raw, name, kind, source, source_url)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (b, role, i, n, person_key(n), sponsor_kind(n), src, url)
                    for b, role, i, n, src, url in want
                ],
            )
            self.counts["sponsors_filled"] += len(want)
            changed.add(bill_no)
        return changed

    def link_sponsors(self, bill_nos: list[str]) -> set[str]:
        """Link these bills' sponsors to `legislators`; returns the bills whose sponsors changed.
        First fills the roles LYAPI names nobody for from the other sources (fill_sponsors)."""
        filled = self.fill_sponsors(bill_nos)
        return filled | self._link_sponsors(bill_nos)

    def _link_sponsors(self, bill_nos: list[str]) -> set[str]:
        index = self.alias_index()
        if not index or not bill_nos:
            return set()
        ids = set(index.values())
        updates = []
        for row in self.db.query(
            f"SELECT bill_no, role, seq, name_raw, name, legislator_id FROM sponsors "
            f"WHERE kind = 'legislator' AND bill_no IN ({_marks(bill_nos)})",
            bill_nos,
        ):
            found = identities(row["name_raw"], index)[0]
            if found in ids and (row["legislator_id"] != found or row["name"] != found):
                updates.append((found, found, row["bill_no"], row["role"], row["seq"]))
        if not updates:
            return set()
        self.db.conn.executemany(
            "UPDATE sponsors SET legislator_id = ?, name = ? WHERE bill_no = ? AND role = ? AND seq = ?",
            updates,
        )
        self.counts["sponsors_linked"] += len(updates)
        return {u[2] for u in updates}


def reconcile(
    db: sqlite_utils.Database, today: date, run_id: int | None = None, only: set[str] | None = None
) -> dict[str, int]:
    return Reconciler(db, today).run(run_id, only)


class ReconcilePipeline:
    """Runs reconcile once the spider is done: every crawl leaves the database reconciled."""

    def __init__(self, db_path: str, today: date, crawler: Any = None) -> None:
        self.db_path = db_path
        self.today = today
        self.crawler = crawler
        # Bills this crawl touched; None once an item could touch any bill (a source record,
        # a law's text or versions, a legislator roster): then everything is reconciled.
        self.touched: set[str] | None = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ReconcilePipeline:
        from pipelines.store import taipei_today

        settings = crawler.settings
        return cls(
            settings.get("BILLTRACKER_DB"), taipei_today(settings.get("BILLTRACKER_TODAY", "")), crawler
        )

    def process_item(self, item: Any, spider: Any = None) -> Any:
        from scrapers.items import BillItem, FetchItem, ProblemItem

        if isinstance(item, BillItem):
            if self.touched is not None:
                self.touched.add(item.bill_no)
                for related in item.record.get("關連議案") or []:
                    if isinstance(related, dict) and related.get("議案編號"):
                        self.touched.add(str(related["議案編號"]))
        elif not isinstance(item, FetchItem | ProblemItem):
            self.touched = None
        return item

    def close_spider(self, spider: Any = None) -> None:
        from pipelines.schema import open_db

        db = open_db(self.db_path)
        stats = self.crawler.stats if self.crawler else None
        try:
            reconcile(db, self.today, stats.get_value("billtracker/run_id") if stats else None, self.touched)
        finally:
            db.close()
