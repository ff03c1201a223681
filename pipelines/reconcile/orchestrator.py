"""The run: the steps over every stored bill (or a crawl's bills), in order, chunk by chunk."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date
from pathlib import Path

import sqlite_utils

from pipelines.history import versions as history
from pipelines.rawsql import atomic
from pipelines.reconcile import corrections
from pipelines.reconcile.attach_sources import attach_sources, write_stage_sources
from pipelines.reconcile.changes import record_changes
from pipelines.reconcile.context import Context, has_table
from pipelines.reconcile.current_stage import recompute_stage
from pipelines.reconcile.disagreements import settle_the_rest
from pipelines.reconcile.inputs import CHUNK, BillInputs, load
from pipelines.reconcile.ledger import ledger
from pipelines.reconcile.merged import link_merged_reviews, propagate_merged
from pipelines.reconcile.moj_laws import link_moj_laws
from pipelines.reconcile.passed import passed_ledger, status_third_reading
from pipelines.reconcile.promulgation import derive_promulgation
from pipelines.reconcile.source_bills import create_missing_bills, resolve_source_bills
from pipelines.reconcile.sponsors import alias_index, link_sponsors
from scrapers.clock import utc_now

logger = logging.getLogger(__name__)


class Reconciler(Context):
    """One reconcile run; `corrections_path`: the corrections file (None: the default)."""

    corrections_path: str | Path | None = None

    def __init__(self, db: sqlite_utils.Database, today: date) -> None:
        super().__init__(db, today, utc_now())

    def run(self, run_id: int | None = None, only: set[str] | None = None) -> dict[str, int]:
        """Reconcile every bill, or with `only` just those bills plus the bills merged with
        them into one report (a crawl of LYAPI bills touches only what it fetched: walking all
        150k bills after a 100-bill refresh cost minutes). What it changes (a derived 三讀 or
        promulgation, a bill only a secondary source knows) becomes typed `changes` events.

        Bills go in chunks of CHUNK, in bill_no order: the steps before the loop write no row a
        history snapshot holds (except the bills they create, which are new-bill events), and a
        bill's reconcile writes only its own rows, so a chunk's snapshot taken just before it
        is the state the whole run started from."""
        with atomic(self.conn):
            known = {b for (b,) in self.conn.execute("select bill_no from bills")}
            resolve_source_bills(self)
            create_missing_bills(self)
            link_moj_laws(self)
            link_merged_reviews(self)
            stored = {b for (b,) in self.conn.execute("select bill_no from bills")}
            created = stored - known
            del known
            scope = self.scope(only, stored) | created if only is not None else stored
            self.has_versions = any(
                has_table(self.conn, t) and self.conn.execute(f"select 1 from {t} limit 1").fetchone()
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
        loaded = load(self.conn, chunk, before)
        for bill in loaded:
            self.reconcile_bill(bill)
        write_stage_sources(self, loaded)
        linked = link_sponsors(self, chunk)
        changed = sorted({b.bill_no for b in loaded if b.changed} | linked | (created & set(chunk)))
        record_changes(self, before, changed, created, run_id, now)

    def reconcile_bill(self, bill: BillInputs) -> None:
        """One bill's steps, in the order each needs the ones before it."""
        propagate_merged(self, bill)
        attach_sources(self, bill)
        # Reviewed corrections (billtracker/corrections.toml): after the stages sources report are
        # matched to the record as published, before every step that derives from the bill's
        # stages, so all of them count a corrected stage in the same run.
        corrections.apply(self, bill)
        status_third_reading(self, bill)
        ledger(self, bill)
        passed_ledger(self, bill)
        derive_promulgation(self, bill)
        recompute_stage(self, bill)
        settle_the_rest(self, bill)

    def propagate_merged(self, bill: BillInputs) -> None:
        """The corrections hook runs it again when it changed a bill's own 三讀."""
        propagate_merged(self, bill)

    def alias_index(self) -> dict[str, str]:
        return alias_index(self)

    def scope(self, only: set[str] | None, stored: set[str] | None = None) -> set[str]:
        """Stored bills to reconcile: all, or `only` widened to their merged-review companions.
        `stored`: every stored bill_no, when the caller has just read them."""
        if stored is None:
            stored = {b for (b,) in self.conn.execute("select bill_no from bills")}
        if only is None:
            return stored
        wanted = set(only) & stored
        if wanted and has_table(self.conn, "merged_reviews"):
            # One read of the links, not an IN list of every wanted bill: after a full backfill
            # `only` holds 150k bills, past SQLite's limit of 250,000 variables twice over.
            members: dict[str, set[str]] = defaultdict(set)
            for report, bill_no in self.conn.execute("select report_bill_no, bill_no from merged_reviews"):
                members[report].add(bill_no)
            for report in [r for r, bills in members.items() if r in wanted or bills & wanted]:
                wanted |= members[report]
                wanted.add(report)
        return wanted & stored


def reconcile(
    db: sqlite_utils.Database, today: date, run_id: int | None = None, only: set[str] | None = None
) -> dict[str, int]:
    return Reconciler(db, today).run(run_id, only)
