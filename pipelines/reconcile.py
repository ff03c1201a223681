"""Reconcile: many sources, one record per bill, and a ledger of every disagreement.

Runs after each crawl (ReconcilePipeline.close_spider, and `billtracker reconcile`), over what
is stored, so its result never depends on which spider ran first. Each step is idempotent:
re-running on unchanged data writes nothing new.

1. lis records carry 提案編號, not billNo: resolve them through bills.proposal_no.
2. A bill only a secondary source knows gets a `bills` row from it (one record per bill).
3. 併案: a committee's merged-review report (billNo digits 8-11 "0703") is linked to the
   proposals it merges, and a 三讀 recorded on the report -- or, when the report itself is not
   stored, on one of its merged proposals -- becomes a derived third reading on every other one.
4. Every stage lists every source that reports it (`stage_sources`); a secondary source's event
   on a day no stage has becomes a stage of its own (origin 'source').
5. Fields the sources disagree on (status, title, filed_on, sponsors, a stage on one day) get a
   `disagreements` row with each reading; `bills` shows the reading pipelines/precedence.py picks.
6. The current stage is recomputed over all stages; a derived expiry that a later third reading
   contradicts is marked gone_at, never deleted.
7. Sponsors are linked to `legislators` by every known spelling of their name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from pipelines import history
from pipelines.date_doubts import filing_doubt
from pipelines.names import alias_key, identities, person_key, sponsor_kind
from pipelines.precedence import best, rank
from pipelines.stage_machine import Event, current_stage
from scrapers.stages import LABELS, classify, clean_status
from scrapers.tw_ly.responses import utc_now

logger = logging.getLogger(__name__)

REPORT_MARK = "0703"  # billNo digits 8-11 of a committee's 審查報告
MERGED_SEQ = 1100  # derived third reading propagated from a merged-review report
PROMULGATED_SEQ = 1200  # derived promulgation from MOJ 沿革 / lis law versions
# The President promulgates within ten days of receiving a passed bill (憲法 §72); with the time
# the bill takes to reach the Presidential Office, a month covers every sample. A version further
# off is another amendment, not this bill's.
PROMULGATION_WINDOW_DAYS = 45
SOURCE_SEQ = 2000  # an event only a secondary source reports
_TITLE_NOISE = re.compile(r"[「」『』，,。、\s]|請審議案|案$")
_MERGED_LIST = re.compile(r"併案審查(?P<names>.+?)(?:分別)?(?:擬具|提案|所提)")
_MEMBER = re.compile(r"(?:委員)?(?P<name>[^、及]+?)等(?P<count>\d+)人")
_HEADCOUNT = re.compile(r"等(\d+)人")


# Slugs that name one state in two vocabularies: lis says 一讀(委員會待審) for a bill LYAPI calls
# 交付審查 (1051006070201200), and 委員會審議中 for what LYAPI lists as 尚未審查 (CIO bill,
# 2017-03-22). Treating them as different would fill the ledger with wording, not disagreement.
SAME_STATE: dict[str, str] = {"first-reading": "referred", "committee-listed": "committee-review"}


def state_key(slug: str) -> str:
    return SAME_STATE.get(slug, slug)


def is_report(bill_no: str) -> bool:
    """1050926070300100 -> True: digits 8-11 are 0703 (委員會審查報告)."""
    return len(bill_no) >= 11 and bill_no[7:11] == REPORT_MARK


def title_key(title: str) -> str:
    """Compare titles, not their wrappers: 「X草案」，請審議案。 (LYAPI) == X草案 (lis)."""
    return _TITLE_NOISE.sub("", title or "").removesuffix("案")


def merged_members(report_title: str) -> list[tuple[str, int]]:
    """(proposer, headcount) pairs a report title merges: "併案審查委員葉宜津等21人、委員李俊俋等
    18人及委員王定宇等18人分別擬具..." -> [("葉宜津", 21), ("李俊俋", 18), ("王定宇", 18)]."""
    found = _MERGED_LIST.search(report_title or "")
    if not found:
        return []
    return [(m.group("name").strip(), int(m.group("count"))) for m in _MEMBER.finditer(found.group("names"))]


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

    def third_readings(self) -> list[dict[str, Any]]:
        """Live 三讀 rows ordered by "on" (NULL first, as SQLite sorts), then seq."""
        rows = [r for r in self.live() if r["stage"] == "third-reading"]
        return sorted(rows, key=lambda r: (r["on"] is not None, r["on"] or "", r["seq"]))


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
            f"SELECT * FROM source_bills WHERE bill_no IN ({marks}) ORDER BY bill_no, rowid", chunk
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
            "AND bill_no NOT IN (SELECT bill_no FROM bills)"
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
        """merged_reviews rows from 關連議案 (both sides) and from the report's title."""
        titles = {
            r["bill_no"]: r["title"]
            for r in self.db.query(
                "SELECT bill_no, title FROM bills WHERE substr(bill_no, 8, 4) = ?", [REPORT_MARK]
            )
        }
        reports: dict[str, str] = {}
        report_urls: dict[str, str] = {}  # where the report's title was read
        links: dict[tuple[str, str], dict[str, Any]] = {}
        for r in self._related(reports_only=True):
            a, b = r["bill_no"], r["related_bill_no"]
            if is_report(b) and not is_report(a):
                reports.setdefault(b, r["related_title"] or titles.get(b, ""))
                report_urls.setdefault(b, r["source_url"])
                links[(b, a)] = {"evidence": f"關連議案 of {a}", "source_url": r["source_url"]}
            elif is_report(a) and not is_report(b):
                reports.setdefault(a, titles.get(a, ""))
                report_urls.setdefault(a, r["source_url"])
                links[(a, b)] = {"evidence": f"關連議案 of {a}", "source_url": r["source_url"]}
        self.counts["merged_links"] = len(links)
        if not reports:
            return
        # The report's title names who it merges: match them to bills by proposer and headcount.
        candidates = {r["related_bill_no"]: r["related_title"] for r in self._related(reports_only=False)}
        proposer_text: dict[str, str] = {}
        for r in self.db.query("SELECT bill_no, title, proposer_text FROM bills"):
            candidates[r["bill_no"]] = r["title"]
            proposer_text[r["bill_no"]] = r["proposer_text"] or ""
        # "X等N人" can only be in a text that has 等N人 right after a character X ends with: index
        # each text's (N, that character) once instead of testing every tag against every bill.
        index: dict[tuple[str, str], list[int]] = defaultdict(list)
        order = [b for b in candidates if not is_report(b)]
        for position, bill_no in enumerate(order):
            for text in (candidates[bill_no] or "", proposer_text.get(bill_no, "")):
                for found in _HEADCOUNT.finditer(text):
                    if found.start() > 0:
                        index[(found.group(1), text[found.start() - 1])].append(position)
        for report, title in reports.items():
            for name, count in merged_members(title):
                tag = f"{name}等{count}人"
                hits = index.get((str(count), name[-1]), []) if name else range(len(order))
                for position in sorted(set(hits)):
                    bill_no = order[position]
                    if (report, bill_no) in links:
                        continue
                    if tag in (candidates[bill_no] or "") or tag in proposer_text.get(bill_no, ""):
                        links[(report, bill_no)] = {
                            "evidence": f"report title names 委員{tag}",
                            "source_url": report_urls.get(report, ""),
                        }
        for (report, bill_no), link in links.items():
            self.db["merged_reviews"].upsert(
                {"report_bill_no": report, "bill_no": bill_no, "report_title": reports[report], **link},
                pk=("report_bill_no", "bill_no"),
            )
        self.counts["merged_links"] = len(links)

    def merged_third_reading(self, bill_no: str) -> tuple[dict[str, Any], str, str] | None:
        """(the 三讀 stage row, report billNo, how) that a merged review gives this bill, if any.
        Reads the other bills' stages from the database: a bill's reconcile writes only its own
        rows, straight away, so what it reads is what the bills before it left."""
        for link in self.db["merged_reviews"].rows_where("bill_no = ?", [bill_no]):
            report = link["report_bill_no"]
            rows = self._third_readings([report])
            if rows:
                return rows[0], report, f"recorded on the report {report}"
            others = [
                r["bill_no"]
                for r in self.db["merged_reviews"].rows_where("report_bill_no = ?", [report])
                if r["bill_no"] != bill_no
            ]
            rows = [r for r in self._third_readings(others) if r["origin"] == "flow"]
            if rows:
                return rows[0], report, f"the report {report} is stored only as 三讀 on {rows[0]['bill_no']}"
        return None

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
        self.ledger(bill)
        self.derive_promulgation(bill)
        self.recompute_stage(bill)
        self.settle_the_rest(bill)

    def _stage_written(self, bill: BillInputs, seq: int) -> None:
        """Keep the in-memory stages in step with a write (rare: derived rows, gone_at)."""
        bill.stages[seq] = next(self.db["stages"].rows_where("bill_no = ? AND seq = ?", [bill.bill_no, seq]))
        bill.changed = True

    def propagate_merged(self, bill: BillInputs) -> None:
        bill_no = bill.bill_no
        stored = [r for r in bill.third_readings() if r["seq"] != MERGED_SEQ]
        if stored:
            return
        found = self.merged_third_reading(bill_no) if bill.merged else None
        if found is None:
            self.withdraw(bill, MERGED_SEQ, "the merged review's 三讀 is no longer stored")
            return
        evidence, report, how = found
        note = (
            f"derived: 三讀 of the merged review (併案) report {report}, {how}; "
            f"evidence: {evidence['bill_no']} seq {evidence['seq']} ({evidence['source_url']})"
        )
        existing = bill.stages.get(MERGED_SEQ)
        same = existing and (existing["note"], existing["on"]) == (note, evidence["on"])
        if not (same and not existing["gone_at"]):  # else: already derived from the same evidence
            self._write_merged(bill_no, evidence, note)
            self._stage_written(bill, MERGED_SEQ)
            self.counts["merged_third_readings"] += 1
        self._stage_source(
            bill, MERGED_SEQ, evidence["source"], evidence["status_raw"], "evidence", note, evidence
        )

    def withdraw(self, bill: BillInputs, seq: int, why: str) -> None:
        """A derived row whose evidence is gone is marked gone_at (kept, never deleted)."""
        row = bill.stages.get(seq)
        if row is not None and row["gone_at"] is None:
            self.db["stages"].update(
                (bill.bill_no, seq), {"gone_at": self.now, "note": f"{row['note']}; evidence gone: {why}"}
            )
            self._stage_written(bill, seq)
            self.counts["derived_withdrawn"] += 1

    def _write_merged(self, bill_no: str, evidence: dict[str, Any], note: str) -> None:
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
        self, bill_no: str, field: str, readings: list[dict[str, Any]], precedence_field: str
    ) -> None:
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
        chosen = best(precedence_field, [(r["source"], r["value"]) for r in readings])
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

    def recompute_stage(self, inputs: BillInputs) -> None:
        """Current stage over every live stage; drop (gone_at) an expiry a third reading undoes."""
        bill, bill_no = inputs.bill, inputs.bill_no
        rows = inputs.live()
        events = [
            Event(r["seq"], r["stage"], r["order_on"] or r["on"], r["session_code"] or "")
            for r in rows
            if r["stage"] != "expired"
        ]
        if not events:
            return
        state = current_stage(events, bill["term"], self.today)
        if state.slug == "expired":
            # The third reading that undid the expiry is gone again: the expiry stands again.
            undone = [
                r
                for _, r in sorted(inputs.stages.items())
                if r["stage"] == "expired" and r["gone_at"] is not None and "; undone: " in (r["note"] or "")
            ]
            for r in undone:
                note = r["note"].split("; undone: ")[0]
                self.db["stages"].update((bill_no, r["seq"]), {"gone_at": None, "note": note})
                self._stage_written(inputs, r["seq"])
        for r in rows:
            if r["stage"] == "expired" and r["origin"] == "derived" and state.slug != "expired":
                self.db["stages"].update(
                    (bill_no, r["seq"]),
                    {
                        "gone_at": self.now,
                        "note": (r["note"] or "") + f"; undone: current stage is {state.slug}",
                    },
                )
                self._stage_written(inputs, r["seq"])
        update = {
            "current_stage": state.slug,
            "current_stage_label": LABELS.get(state.slug or "", ""),
            "current_stage_on": state.on,
            "current_stage_derived": int(state.derived),
        }
        if any(bill.get(k) != v for k, v in update.items()):
            self._update_bill(inputs, update)
            self.counts["stages_recomputed"] += 1

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
