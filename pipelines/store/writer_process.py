"""The store in a process of its own, fed through a pipe, for a BULK backfill.

Why: a backfill's crawl process is CPU-bound on one core, and the store (normalising and writing
each bill, ~0.9 ms a bill) is most of it. A writer thread does not help: the store's Python holds
the GIL, and each of its ~15 statements a bill gives the GIL up and waits to get it back
(measured: 68.1 s against 69.8 s for 30,000 bills). A second process runs the store beside
Scrapy on the second core.

The child is an ordinary StorePipeline (no crawler) with the same batching; items reach it in
the order the crawl produced them, so a page's ledger mark still shares a transaction with the
page's bills. What the parent needs back: the counts at the end, and a StoreUnavailable the
moment it happens (reported with the next acknowledgement). If the parent dies (kill -9), the
child reads end-of-file and exits without committing its open batch, exactly what a killed
single-process crawl loses; the next crawl fetches those pages again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from typing import Any

logger = logging.getLogger(__name__)
CHUNK_ITEMS = 200  # items per message: pickling and a pipe write per item would cost more
IN_FLIGHT = 8  # messages the child may be behind before the crawl waits (back-pressure)
LOG_FORMAT = "%(asctime)s [%(name)s] %(levelname)s: %(message)s"


class WriterProcessDied(RuntimeError):
    """The store's process ended unexpectedly: what was queued to it is not stored."""


@dataclass
class StoreArgs:
    """What the child needs to build its StorePipeline (all picklable)."""

    db_path: str
    today: date
    watches_path: str
    batch_items: int
    batch_seconds: float
    log_level: str = "INFO"


def _child_main(conn: Connection, args: StoreArgs, store_class: type) -> None:
    """The child's loop: items in, acknowledgements out; ends on "close" or end-of-file.
    store_class is StorePipeline, handed over (pickled by name) so this module needn't import it."""
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT, stream=sys.stderr)
    store = store_class(
        args.db_path, args.today, None, args.watches_path, args.batch_items, args.batch_seconds
    )
    store.in_writer_process = True

    def reply(kind: str, result: Any = None, error: str | None = None) -> None:
        failed = str(store.failed) if store.failed is not None else None
        conn.send((kind, result, error, failed))

    try:
        try:
            store.open_spider()
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            reply("open", None, f"{type(exc).__name__}: {exc}")
            return
        reply("open")
        while True:
            kind, payload = conn.recv()
            if kind == "items":
                for item in payload:
                    if store.failed is not None:
                        break
                    try:
                        store.store_item(item)
                    except Exception:  # noqa: BLE001 - unavailable: reported in the ack
                        if store.failed is None:
                            raise
                reply("items")
            elif kind == "run_id":
                store.fixed_run_id = payload
            elif kind == "commit":
                if store.failed is None:
                    try:
                        store.commit()
                    except Exception:  # noqa: BLE001 - unavailable: reported in the ack
                        if store.failed is None:
                            raise
                reply("commit")
            elif kind == "close":
                store.close_spider()
                reply("close", store.counts)
                return
    except EOFError:  # the crawl died: leave the open batch uncommitted, as a kill would
        os._exit(0)
    except Exception as exc:  # noqa: BLE001 - a bug: the parent names it and stops the crawl
        logger.exception("the store's process failed")
        reply("error", None, f"{type(exc).__name__}: {exc}")


class WriterProcess:
    """The parent's side: put(item), commit(), close() -> counts; `failed` once the child says."""

    def __init__(self, args: StoreArgs, store_class: type) -> None:
        ctx = multiprocessing.get_context("spawn")  # the crawl process has threads and a reactor
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, args=(child, args, store_class), name="billtracker-store")
        self.proc.daemon = True
        self.proc.start()
        child.close()
        self.failed: str | None = None
        self.pending: list[Any] = []
        self.in_flight = 0
        self.run_id: int | None = None
        self._wait_ack("open")  # opened (and migrated) before the first item

    def put(self, item: Any, run_id: int | None) -> None:
        if run_id != self.run_id:
            self._send(("run_id", run_id))
            self.run_id = run_id
        self.pending.append(item)
        if len(self.pending) >= CHUNK_ITEMS:
            self._flush()
        while self.conn.poll():  # acknowledgements already there: no waiting
            self._read_ack()
        while self.in_flight > IN_FLIGHT:
            self._read_ack()

    def commit(self) -> None:
        """Every item put is stored and committed when this returns."""
        self._flush()
        self._send(("commit", None))
        self._wait_ack("commit")

    def close(self) -> dict[str, int]:
        """Commit, close the database, end the child; its counts."""
        self._flush()
        self._send(("close", None))
        counts = self._wait_ack("close")
        self.proc.join(timeout=30)
        return counts or {}

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)

    def _flush(self) -> None:
        if self.pending:
            self._send(("items", self.pending))
            self.pending = []

    def _send(self, message: tuple[str, Any]) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError) as exc:
            raise self._died(exc) from None
        if message[0] == "items":
            self.in_flight += 1

    def _wait_ack(self, kind: str) -> Any:
        """Read acknowledgements up to the one answering `kind`; its result."""
        while True:
            got, result = self._read_ack()
            if got == kind:
                return result

    def _read_ack(self) -> tuple[str, Any]:
        try:
            kind, result, error, failed = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise self._died(exc) from None
        if kind == "items":
            self.in_flight -= 1
        if failed and self.failed is None:
            self.failed = failed
        if error:
            raise WriterProcessDied(f"the store's process failed: {error}")
        return kind, result

    def _died(self, exc: BaseException) -> WriterProcessDied:
        self.proc.join(timeout=5)
        return WriterProcessDied(f"the store's process ended (exit code {self.proc.exitcode}): {exc!r}")
