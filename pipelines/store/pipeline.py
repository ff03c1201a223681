"""StorePipeline: write every item to SQLite, never losing what is already stored.

- A bill whose record hash is unchanged is a no-op (counted), so re-running a crawl writes nothing.
- Stages are upserted by (bill_no, seq); one that upstream stops listing is marked `gone_at`,
  never deleted. A record that arrives with no 議案流程 does not erase a stored flow.
- Problems (from spiders or normalising) become `problems` rows, one per distinct problem with
  `times` and `last_seen_at` bumped when it recurs; the run goes on.
Counts of inserts / updates / no-ops are logged and kept in the crawl's stats (openstates-style).

Batching (BILLTRACKER_BATCH_ITEMS > 1, the bulk profile): items share one transaction, committed
every N items or BILLTRACKER_BATCH_SECONDS, each item inside its own savepoint, so one bad item
still rolls back alone. A commit per item fsyncs the WAL ~300,000 times in a 150k backfill; a
kill -9 loses at most the open batch, which the next crawl fetches again (nothing stored is lost).
With BILLTRACKER_STORE_PROCESS (the bulk profile too) this pipeline hands every item, in order,
to the same store running in a process of its own (pipelines/store/writer_process.py), on the
second core.

Writes are plain sqlite3 statements (pipelines/rawsql.py), not sqlite-utils calls: a 150k
backfill stores ~1,000,000 rows. A new bill (the whole backfill) has nothing stored to compare,
keep or mark gone, so it is written without reading any of its rows back, and its state after
the write, which history compares against "no bill", is built from the rows just written.
tests/test_golden.py holds what it writes to a checked-in dump, row for row.

A database that cannot be written at all (disk full, read-only file) is not a bad item: the
crawl stops with one clear error line (StoreUnavailable) and a non-zero exit, the open batch is
rolled back, so no bill is left half-written.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlite_utils
from scrapy import signals
from scrapy.crawler import Crawler

from pipelines.history import versions as history
from pipelines.history.versions import BillState
from pipelines.history.watches import (
    DEFAULT_WATCHES,
    BadWatch,
    Watch,
    load_watches,
    stored_watches,
    sync_watches,
)
from pipelines.normalise.articles import article_rows
from pipelines.normalise.bill_record import NormalisedBill, normalise_bill
from pipelines.normalise.search_keys import article_text, search_rows
from pipelines.normalise.validate import wrong_types
from pipelines.problems import record_problem
from pipelines.rawsql import atomic, insert, select, select_one, upsert
from pipelines.schema import open_db
from pipelines.store import backfill_ledger as backfill
from pipelines.store.moj_law import store_law_text
from pipelines.store.writer_process import StoreArgs, WriterProcess, WriterProcessDied
from scrapers.clock import taipei_today, utc_now
from scrapers.commands.crawl import FAILED_STAT
from scrapers.items import BillItem, FetchItem, LawItem, LawTextItem, PageDoneItem, PlanLeafItem, ProblemItem

logger = logging.getLogger(__name__)
# The store's page cache (KiB): the indexes a 150,000-bill backfill inserts into stay in memory.
STORE_CACHE_KIB = 262_144
# sqlite3 errors that mean "this database cannot be written", not "this item is bad".
UNWRITABLE = ("database or disk is full", "readonly database", "disk i/o error", "unable to open database")


class StoreUnavailable(RuntimeError):
    """The database cannot be written (disk full, read-only, gone): stop, name the file and why."""


def unwritable(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and any(m in str(exc).lower() for m in UNWRITABLE)


class StorePipeline:
    def __init__(
        self,
        db_path: str,
        today: date,
        crawler: Crawler | None = None,
        watches_path: str = "",
        batch_items: int = 1,
        batch_seconds: float = 2.0,
        store_process: bool = False,
    ) -> None:
        self.db_path = db_path
        self.watches_path = watches_path or str(DEFAULT_WATCHES)
        self.today = today
        self.crawler = crawler
        self.counts = {"inserted": 0, "updated": 0, "noop": 0, "problems": 0, "laws": 0}
        self.db: sqlite_utils.Database | None = None
        self.article_texts = True  # set by open_spider from the schema it finds
        self.batch_items = max(1, batch_items)
        self.batch_seconds = batch_seconds
        self._pending = 0
        self._batch_started = time.monotonic()
        self.failed: StoreUnavailable | None = None
        self.store_process = store_process
        self.writer: WriterProcess | None = None
        self.fixed_run_id: int | None = None  # in the writer process: the run id the crawl sent
        self.in_writer_process = False
        self.watches: list[Watch] = []
        # Law codes known to have a `laws` row in this transaction; cleared on any rollback.
        self.known_laws: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        pipeline = cls(
            settings.get("BILLTRACKER_DB"),
            taipei_today(settings.get("BILLTRACKER_TODAY")),
            crawler,
            settings.get("BILLTRACKER_WATCHES"),
            batch_items=settings.getint("BILLTRACKER_BATCH_ITEMS"),
            batch_seconds=settings.getfloat("BILLTRACKER_BATCH_SECONDS"),
            store_process=settings.getbool("BILLTRACKER_STORE_PROCESS"),
        )
        # Scrapy closes pipelines in reverse order: ReconcilePipeline (900) would find the last
        # batch uncommitted and its write lock held. The spider goes idle before a finished crawl
        # closes, with every item through the pipelines: commit the batch then.
        crawler.signals.connect(pipeline.on_idle, signal=signals.spider_idle)
        return pipeline

    def on_idle(self, spider: Any = None) -> None:
        """Everything so far stored and committed (the writer process's too) when this returns."""
        if self.writer is not None and self.failed is None:
            with self.writer_guard():
                self.writer.commit()
        elif self.db is not None and self.failed is None:
            self.commit()

    def open_spider(self, spider: Any = None) -> None:
        if self.store_process:
            log_level = self.crawler.settings.get("LOG_LEVEL") if self.crawler else "INFO"
            args = StoreArgs(
                self.db_path, self.today, self.watches_path, self.batch_items, self.batch_seconds, log_level
            )
            self.writer = WriterProcess(args, type(self))
            return
        try:
            self.db = open_db(self.db_path)
        except sqlite3.OperationalError as exc:
            if unwritable(exc):
                raise StoreUnavailable(f"cannot write {self.db_path}: {exc}") from None
            raise
        # Each item's savepoint copies every page it changes to a sub-journal, by default a temp
        # file: in memory, a 3,000-bill backfill spent ~25% less CPU (bench/bench_store.py).
        self.db.execute("PRAGMA temp_store = MEMORY")
        # Since i12_search_texts_from_bills a bill's search texts are its bills row plus one
        # article_texts row, written directly: through the search_texts view a re-keyed bill's
        # DELETE would key its title, 案由 and articles only to discard them (+0.6 ms an update).
        # A database migrated to before it (tests/test_migrations.py builds one) has the table.
        self.article_texts = self.db["article_texts"].exists()
        # SQLite's default page cache is 2 MB: past a few thousand bills every index insert missed
        # it. In WAL mode NORMAL syncs at checkpoints, not at each commit: a killed crawl still
        # loses nothing committed; only a power cut could undo the last commits (fetched again).
        self.db.execute(f"PRAGMA cache_size = -{STORE_CACHE_KIB}")
        self.db.execute("PRAGMA synchronous = NORMAL")
        # Issue 4: the watch config decides which changes each watch's feed carries. A broken
        # config is a problem row and the stored watches stay: it must not stop the crawl.
        try:
            sync_watches(self.db, load_watches(self.watches_path), utc_now(), history.rematch_all)
        except BadWatch as exc:
            self.record_problem("billtracker", "bad-watch-config", str(exc), self.watches_path, None)
        self.watches = stored_watches(self.db)

    def run_id(self) -> int | None:
        """The scrape_runs row of this crawl (set by pipelines.store.runs.RunRecorder), if any."""
        if self.fixed_run_id is not None:
            return self.fixed_run_id
        stats = self.crawler.stats if self.crawler else None
        return stats.get_value("billtracker/run_id") if stats else None

    def commit(self) -> None:
        """End the open batch (if any); a failing commit is StoreUnavailable, batch rolled back."""
        assert self.db is not None
        self._pending = 0
        self._batch_started = time.monotonic()
        if self.db.conn.in_transaction:
            try:
                self.db.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self.db.conn.rollback()
                self.known_laws.clear()
                raise self.unavailable(exc) from None

    def unavailable(self, exc: BaseException) -> Exception:
        """Remember the failure, log one clear line, close the spider (reason store-unavailable);
        returns what process_item raises: DropItem in a crawl, StoreUnavailable outside one."""
        return self.stop_crawl(StoreUnavailable(f"cannot write {self.db_path}: {exc}"))

    def stop_crawl(self, failed: StoreUnavailable) -> Exception:
        self.failed = failed
        if not self.in_writer_process:  # there the crawl's side says it, once
            logger.error("%s; stopping the crawl (nothing half-written)", self.failed)
        stats = self.crawler.stats if self.crawler else None
        if stats is not None:
            why = str(failed).removeprefix(f"cannot write {self.db_path}: ")
            stats.set_value("billtracker/store_unavailable", why)
            # `scrapy crawl` itself exits 1 (scrapers/commands/crawl.py), not only billtracker's jobs.
            stats.set_value(FAILED_STAT, str(self.failed))
        try:
            engine = self.crawler.engine if self.crawler else None
        except RuntimeError:  # Scrapy 2.19: a crawler whose crawl has not started has no engine
            engine = None
        if engine is None:
            return self.failed
        from scrapy.exceptions import DropItem
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(engine.close_spider_async(reason="store-unavailable"))
        return DropItem(str(self.failed))

    def close_spider(self, spider: Any = None) -> None:
        if self.writer is not None:
            try:
                with self.writer_guard():
                    self.counts.update(self.writer.close())
            finally:
                self.writer.kill()
        if self.db is not None and self.failed is None:
            self.commit()
        c = self.counts
        logger.info(
            "bills: %d inserted, %d updated, %d unchanged; %d laws; %d problems",
            c["inserted"],
            c["updated"],
            c["noop"],
            c["laws"],
            c["problems"],
        )
        if self.crawler and self.crawler.stats:
            for key, value in c.items():
                self.crawler.stats.set_value(f"billtracker/{key}", value)
        if self.db is not None:
            self.db.close()

    @contextmanager
    def writer_guard(self) -> Iterator[None]:
        """The writer process said the database cannot be written, or died: stop the crawl here,
        loudly, as the store in this process would."""
        try:
            yield
        except WriterProcessDied as exc:
            if self.failed is None:
                self.stop_crawl(StoreUnavailable(str(exc)))
            return
        assert self.writer is not None
        if self.writer.failed and self.failed is None:
            self.stop_crawl(StoreUnavailable(self.writer.failed))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        """Store one item (or hand it to the writer process). A bug or bad record in one item
        becomes a `problems` row (with the item's URL), never the end of the run; the item's own
        transaction is rolled back."""
        if self.failed is not None:
            return item
        if self.writer is not None:
            with self.writer_guard():
                self.writer.put(item, self.run_id())
            return item
        self.store_item(item)
        return item

    def store_item(self, item: Any) -> None:
        assert self.db is not None
        try:
            if self.batch_items > 1:
                if not self.db.conn.in_transaction:
                    # IMMEDIATE: take the write lock now. A deferred BEGIN that reads first fails
                    # at once ("database is locked", busy_timeout or not) if another connection
                    # (the run recorder) wrote since; the writer process meets that.
                    self.db.conn.execute("BEGIN IMMEDIATE")
                with atomic(self.db.conn):  # a savepoint: a bad item rolls back alone
                    self.dispatch(item)
            else:
                self.dispatch(item)
        except Exception as exc:  # noqa: BLE001 - any failure of one item must not stop the crawl
            self.known_laws.clear()  # what this item wrote was rolled back
            if unwritable(exc):
                if self.db.conn.in_transaction:
                    self.db.conn.rollback()
                raise self.unavailable(exc) from None
            prov = getattr(item, "provenance", None)
            url = prov.source_url if prov else getattr(item, "url", "")
            logger.exception("could not store %s from %s", type(item).__name__, url)
            self.record_problem(
                prov.spider if prov else "",
                "store-error",
                f"{type(exc).__name__}: {exc}",
                url,
                getattr(item, "bill_no", None),
            )
        self._pending += 1
        if self._pending >= self.batch_items or time.monotonic() - self._batch_started > self.batch_seconds:
            self.commit()

    def dispatch(self, item: Any) -> None:
        assert self.db is not None
        if isinstance(item, BillItem):
            self.store_bill(item)
        elif isinstance(item, LawItem):
            self.store_law(item)
        elif isinstance(item, LawTextItem):
            for kind, message in store_law_text(self.db, item):
                self.record_problem(item.provenance.spider, kind, message, item.provenance.source_url, None)
            self.counts["laws"] += 1
        elif isinstance(item, FetchItem):
            insert(self.db.conn, "fetches", [vars(item)])
        elif isinstance(item, ProblemItem):
            self.record_problem(item.spider, item.kind, item.message, item.url, item.bill_no, item.detail)
        elif isinstance(item, PageDoneItem):  # same transaction as the page's bills (issue 11)
            backfill.mark_done(self.db.conn, item, self.run_id(), utc_now())
        elif isinstance(item, PlanLeafItem):
            backfill.add_leaf(self.db.conn, item, utc_now())

    # --- writers ------------------------------------------------------------------------------

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
        logger.warning("problem %s at %s: %s", kind, url, message)
        record_problem(self.db, spider, kind, message, url, bill_no, detail)

    def store_law(self, item: LawItem) -> None:
        assert self.db is not None
        r = item.record
        row = {
            "law_code": item.law_code,
            "name": str(r.get("名稱") or ""),
            "status": str(r.get("法律狀態") or ""),
            "kind": str(r.get("類別") or ""),
            "parent_code": str(r.get("母法編號") or ""),
            "source": item.source,
            "source_url": item.provenance.source_url,
            "fetched_at": item.provenance.fetched_at,
            "content_sha256": item.provenance.content_sha256,
        }
        upsert(self.db.conn, "laws", [row], ("law_code",))
        self.known_laws.add(item.law_code)
        self.counts["laws"] += 1

    def store_bill(self, item: BillItem) -> None:
        assert self.db is not None
        conn, bill_no = self.db.conn, item.bill_no
        norm = normalise_bill(item, self.today)
        for p in wrong_types(item.record) + norm.problems:
            self.record_problem(
                item.provenance.spider, p.kind, p.message, item.provenance.source_url, bill_no, p.detail
            )
        existing = select_one(conn, "select * from bills where bill_no = ?", [bill_no])
        if existing and existing["record_sha256"] == norm.bill["record_sha256"]:
            self.counts["noop"] += 1
            if (existing.get("as_of") or "") < (norm.bill["as_of"] or ""):
                # Same record, captured again later (資料抓取時間 is not hashed): the data is
                # younger, which is what decides expiry (reconcile recomputes the stage).
                conn.execute("UPDATE bills SET as_of = ? WHERE bill_no = ?", [norm.bill["as_of"], bill_no])
            if (
                conn.execute(
                    "select 1 from article_texts where bill_no = ?"
                    if self.article_texts
                    else "select 1 from search_texts where bill_no = ? limit 1",
                    [bill_no],
                ).fetchone()
                is None
            ):
                # Stored before articles and search keys existed: add them once.
                with atomic(conn):
                    self._write_articles(item, norm, existing, utc_now())
            return
        now = utc_now()
        with atomic(conn):
            if existing is None:
                before = BillState(None)
                after = new_bill_state(self._write(norm, None, now), norm)
            else:
                before = history.snapshot(self.db, bill_no, existing)
                self._write(norm, existing, now)
                after = history.snapshot(self.db, bill_no)
            self._write_articles(item, norm, existing, now)
            assert after.bill is not None
            history.record_version(self.db, after.bill, item.record, self.run_id(), now)
            history.record_changes(self.db, bill_no, before, after, self.run_id(), now, self.watches)
        self.counts["updated" if existing else "inserted"] += 1

    def _write_articles(
        self, item: BillItem, norm: NormalisedBill, existing: dict[str, Any] | None, now: str
    ) -> None:
        """Articles from the 對照表 (or the title) and the bill's search keys; an article upstream
        stops listing is marked gone_at, never deleted. A new bill has no stored articles (their
        foreign key needs the bill row), so they are not looked up."""
        assert self.db is not None
        conn, bill_no = self.db.conn, item.bill_no
        prov = {k: norm.bill[k] for k in ("source", "source_url", "fetched_at", "content_sha256")}
        rows, problems = article_rows(bill_no, item.record, norm.laws, prov)
        for p in problems:
            self.record_problem(
                item.provenance.spider, p.kind, p.message, item.provenance.source_url, bill_no, p.detail
            )
        stored = {}
        if existing is not None:
            stored = {
                r["seq"]: r for r in select(conn, "select * from articles where bill_no = ?", [bill_no])
            }
        stored_table = [r for r in stored.values() if r["origin"] == "table" and not r["gone_at"]]
        if stored_table and not any(r["origin"] == "table" for r in rows):
            # Less than we had: a record that lost its 對照表 must not replace the stored text.
            self.record_problem(
                item.provenance.spider,
                "table-vanished",
                f"{bill_no}: upstream lists no 對照表 now; kept {len(stored_table)} stored article rows",
                item.provenance.source_url,
                bill_no,
            )
            rows = list(stored.values())
        upsert(conn, "articles", rows, ("bill_no", "seq"))
        for seq, row in stored.items():
            if seq >= len(rows) and not row["gone_at"]:
                conn.execute(
                    "UPDATE articles SET gone_at = ? WHERE bill_no = ? AND seq = ?", [now, bill_no, seq]
                )
        live = [r for r in rows if not r.get("gone_at")]
        if self.article_texts:  # the row keys the bill: search_texts reads its title and 案由 from bills
            upsert(conn, "article_texts", [{"bill_no": bill_no, "text": article_text(live)}], ("bill_no",))
            return
        if existing is not None:
            conn.execute("DELETE FROM search_texts WHERE bill_no = ?", [bill_no])
        insert(conn, "search_texts", search_rows(norm.bill, live))

    def _write(self, norm: NormalisedBill, existing: dict[str, Any] | None, now: str) -> dict[str, Any]:
        """Upsert the bill's rows; returns its `bills` row as written."""
        assert self.db is not None
        conn, bill = self.db.conn, dict(norm.bill)
        bill_no = bill["bill_no"]
        bill["first_seen_at"] = existing["first_seen_at"] if existing else now
        bill["updated_at"] = now
        stages = norm.stages
        stored: dict[int, dict[str, Any]] = {}
        if existing is not None:  # a new bill has no stored stages: their foreign key needs its row
            stored = {r["seq"]: r for r in select(conn, "select * from stages where bill_no = ?", [bill_no])}
            stored_flow = [r for r in stored.values() if r["origin"] == "flow" and not r["gone_at"]]
            if stored_flow and not any(r["origin"] == "flow" for r in norm.stages):
                # Less than we had: keep the stored flow and the stage computed from it.
                for key in (
                    "current_stage",
                    "current_stage_label",
                    "current_stage_on",
                    "current_stage_derived",
                ):
                    bill[key] = existing[key]
                self.record_problem(
                    bill["source"],
                    "flow-vanished",
                    f"{bill_no}: upstream lists no 議案流程 now; kept {len(stored_flow)} stored",
                    bill["source_url"],
                    bill_no,
                )
                stages = []
        upsert(conn, "bills", [bill], ("bill_no",))
        if stages:
            upsert(conn, "stages", stages, ("bill_no", "seq"))
            seen = {r["seq"] for r in stages}
            for seq, row in stored.items():
                if seq not in seen and not row["gone_at"]:
                    conn.execute(
                        "UPDATE stages SET gone_at = ? WHERE bill_no = ? AND seq = ?", [now, bill_no, seq]
                    )
        if norm.sponsors:
            if existing is not None:
                conn.execute("DELETE FROM sponsors WHERE bill_no = ?", [bill_no])
            insert(conn, "sponsors", norm.sponsors)
        self._link_laws(norm.laws)
        upsert(conn, "related_bills", norm.related, ("bill_no", "related_bill_no"))
        upsert(conn, "documents", norm.documents, ("bill_no", "seq"))
        return bill

    def _link_laws(self, laws: list[dict[str, Any]]) -> None:
        """bill_laws rows, and a `laws` row for a code no law item has brought yet."""
        assert self.db is not None
        conn = self.db.conn
        upsert(conn, "bill_laws", laws, ("bill_no", "law_code"))
        for row in laws:
            if row["law_code"] not in self.known_laws:
                law = {"law_code": row["law_code"], "name": row["law_name"], "source": "lyapi"}
                insert(conn, "laws", [{**law, "source_url": row["source_url"]}], or_ignore=True)
                self.known_laws.add(row["law_code"])


def new_bill_state(bill: dict[str, Any], norm: NormalisedBill) -> BillState:
    """What history.snapshot would read right after a new bill's rows were written, without
    reading: they are all it has (rows of a bill can only exist once its `bills` row does)."""
    return BillState(
        bill,
        sorted(norm.stages, key=lambda r: r["seq"]),
        norm.sponsors,
        norm.related,
        [r["law_code"] for r in norm.laws],
    )
