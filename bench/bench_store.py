"""Benchmark (not a test): CPU per bill of StorePipeline alone, without Scrapy or the network.

Why: issue 6's backfill spends most of its CPU storing (cProfile, 3,000 bills: ~6 ms per bill in
StorePipeline.process_item). This feeds generated LYAPI-shaped bills (billtracker/replay/scale.py)
straight into the pipeline with the BULK profile's batching (500 items per transaction) and
measures CPU seconds (time.process_time) in three phases on one fresh SQLite file:

- backfill: every bill new (the whole 150k backfill is this case);
- no-op: the same bills again (an unchanged re-crawl);
- update: the same bills with one more 議案流程 entry each (ScaleCorpus mutations).

Baseline, same run and same items: normalise_bill alone (the store cannot be cheaper than the
rows it writes), and normalise + a bare sqlite3 executemany of bills/stages/sponsors
(bench/baseline_rows.py, the backfill benchmark's baseline).

    .venv/bin/python bench/bench_store.py              # 3,000 bills, best of 3
    .venv/bin/python bench/bench_store.py --bills 20000 --repeat 1
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from baseline_rows import BASELINE_SCHEMA, baseline_rows  # noqa: E402

from billtracker.replay import load_replay  # noqa: E402
from billtracker.replay.scale import ScaleCorpus  # noqa: E402
from pipelines.normalise.bill_record import normalise_bill  # noqa: E402
from pipelines.store.pipeline import StorePipeline  # noqa: E402
from scrapers.items import BillItem, Provenance  # noqa: E402

TODAY = date(2026, 11, 26)
BATCH = 500  # billtracker/jobs/profiles.py BULK


def items(corpus: ScaleCorpus, n: int, fetched_at: str) -> list[BillItem]:
    out = []
    for i in range(n):
        record = corpus.record(i)
        bill_no = record["議案編號"]
        prov = Provenance(f"http://replay/v2/bills/{bill_no}", fetched_at, "ab" * 32, "tw_ly_bills")
        out.append(BillItem(bill_no, record, prov))
    return out


def store_cpu(db_path: Path, batch: list[BillItem]) -> tuple[float, dict[str, int]]:
    """CPU seconds of one pipeline run over the items (open and close included)."""
    start = time.process_time()
    pipeline = StorePipeline(str(db_path), TODAY, batch_items=BATCH, batch_seconds=3600)
    pipeline.open_spider()
    for item in batch:
        pipeline.process_item(item)
    pipeline.close_spider()
    return time.process_time() - start, pipeline.counts


def normalise_cpu(batch: list[BillItem]) -> float:
    start = time.process_time()
    for item in batch:
        normalise_bill(item, TODAY)
    return time.process_time() - start


def executemany_cpu(db_path: Path, batch: list[BillItem]) -> float:
    start = time.process_time()
    conn = sqlite3.connect(db_path)
    conn.executescript(BASELINE_SCHEMA)
    for first in range(0, len(batch), BATCH):
        bills: list[tuple] = []
        stages: list[tuple] = []
        sponsors: list[tuple] = []
        for item in batch[first : first + BATCH]:
            bill, bill_stages, bill_sponsors = baseline_rows(normalise_bill(item, TODAY))
            bills.append(bill)
            stages += bill_stages
            sponsors += bill_sponsors
        with conn:
            conn.executemany("INSERT OR REPLACE INTO bills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", bills)
            conn.executemany("INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?, ?)", stages)
            conn.executemany("INSERT OR REPLACE INTO sponsors VALUES (?, ?, ?, ?, ?, ?)", sponsors)
    conn.close()
    return time.process_time() - start


def one_run(n: int, new: list[BillItem], changed: list[BillItem], tmp: Path) -> dict[str, Any]:
    db = tmp / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    (tmp / "baseline.db").unlink(missing_ok=True)
    backfill, c1 = store_cpu(db, new)
    noop, c2 = store_cpu(db, new)
    update, c3 = store_cpu(db, changed)
    assert (c1["inserted"], c2["noop"], c3["updated"]) == (n, n, n), (c1, c2, c3)
    return {
        "backfill": backfill,
        "noop": noop,
        "update": update,
        "normalise": normalise_cpu(new),
        "executemany": executemany_cpu(tmp / "baseline.db", new),
    }


def main(argv: list[str] | None = None) -> None:
    logging.disable(logging.WARNING)  # a problem row per bill without 議案流程: not news here
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best (least CPU) is shown")
    args, _ = parser.parse_known_args(argv)  # `./dev bench` hands every benchmark the same args
    n = args.bills
    data = load_replay()
    new = items(ScaleCorpus(data, n), n, "2026-11-26T01:00:00Z")
    changed = items(ScaleCorpus(data, n, mutations=range(n)), n, "2026-11-27T01:00:00Z")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            runs.append(one_run(n, new, changed, Path(tmp)))
    best = {key: min(r[key] for r in runs) for key in runs[0]}
    ms = {key: 1000 * value / n for key, value in best.items()}
    print(f"StorePipeline CPU per bill, {n:,} generated bills, batches of {BATCH}, best of {args.repeat}:")
    print(f"  backfill (new bills) {ms['backfill']:.2f} ms   (store alone, minus normalise: ", end="")
    print(f"{ms['backfill'] - ms['normalise']:.2f} ms)")
    print(f"  no-op (same again)   {ms['noop']:.2f} ms")
    print(f"  update (+1 stage)    {ms['update']:.2f} ms")
    print(f"  baseline: normalise_bill alone {ms['normalise']:.2f} ms; ", end="")
    print(f"normalise + bare executemany of bills/stages/sponsors {ms['executemany']:.2f} ms")
    print(f"  backfill / bare executemany: {best['backfill'] / best['executemany']:.1f}x")


if __name__ == "__main__":
    main()
