"""Benchmark (not a test): reconcile after a backfill of the generated LYAPI-sized corpus, ms per bill.

Why: after a full backfill ReconcilePipeline reconciles every bill (150k). Issue 6's target is
at most 1 ms per bill with bounded memory. The database is a backfill crawl of N generated bills
(bench/bench_backfill.py --db, built here once unless --db names an existing one). Each timing
runs on a fresh copy in three states: "backfill" (reconcile's own outputs reset, as the crawl's
StorePipeline leaves them: stage_sources/disagreements/merged_reviews empty, derived rows and
bills.sources gone), "steady" (reconciled already) and "refresh" (steady, reconcile asked for
100 bills, as after an incremental crawl of 100 changed bills). Baseline measured in the same run: a
plain SELECT of every row reconcile reads, on the same copies; peak RSS of each child process too.
(The previous per-bill implementation, once timed here with --reference, is retired: what
reconcile writes is held by tests/golden.py's checked-in dumps.)

    .venv/bin/python bench/bench_reconcile_scale.py                  # 3,000 bills
    .venv/bin/python bench/bench_reconcile_scale.py --bills 20000 --db /tmp/b20k.db
    BENCH_FULL=1 .venv/bin/python bench/bench_reconcile_scale.py     # 20,000 bills (`./dev bench --full`)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# One timed reconcile in a child process (its peak RSS is its own): prints a JSON line.
CHILD = """
import json, resource, sys, time
from datetime import date
sys.path[:0] = [sys.argv[1]]
from pipelines.schema import open_db
from pipelines.reconcile import MERGED_SEQ, Reconciler
db = open_db(sys.argv[2])
if sys.argv[4] == "backfill":
    with db.conn:
        for table in ("stage_sources", "disagreements", "merged_reviews"):
            db.execute(f"delete from {table}")
        db.execute("delete from stages where seq >= ?", [MERGED_SEQ])
        db.execute("update bills set sources = null")
inputs = ["bills", "stages", "sponsors", "related_bills", "bill_laws", "source_bills", "source_stages",
          "stage_sources", "disagreements", "merged_reviews", "legislators"]
only = None
if sys.argv[4] == "refresh":  # what a crawl of 100 changed bills asks reconcile for
    stored = [b for (b,) in db.execute("select bill_no from bills order by bill_no")]
    only = set(stored[:: max(1, len(stored) // 100)][:100])
start = time.perf_counter()
if sys.argv[3] == "select":
    counts = {t: len(list(db.query(f"select * from {t}"))) for t in inputs}
else:
    counts = Reconciler(db, date(2026, 11, 26)).run(None, only)
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss, "counts": counts}))
"""


def build(bills: int, db: Path) -> None:
    print(f"building a {bills:,}-bill backfill database (bench/bench_backfill.py --db {db}) ...", flush=True)
    subprocess.run(
        [sys.executable, str(REPO / "bench/bench_backfill.py"), "--bills", str(bills)]
        + ["--no-baseline", "--no-refresh", "--db", str(db)],
        cwd=REPO,
        check=True,
    )


def timed(db: Path, work: Path, impl: str, state: str) -> dict:
    copy = work / f"{impl}-{state}.db"
    shutil.copy(db, copy)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(REPO), str(copy), impl, state],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    copy.unlink()
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    full = bool(os.environ.get("BENCH_FULL"))  # `./dev bench --full`
    parser.add_argument("--bills", type=int, default=20_000 if full else 3000)
    parser.add_argument("--db", help="backfill database to use (built there when missing)")
    parser.add_argument("-n", type=int, default=1, help="repeats of each timing (median printed)")
    parser.add_argument(
        "--states", default="backfill,steady,refresh", help="which of backfill, steady, refresh to time"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-scale-"))
    try:
        db = Path(args.db) if args.db else work / "backfill.db"
        if not db.exists():
            build(args.bills, db)
        with sqlite3.connect(db) as conn:
            bills = conn.execute("select count(*) from bills").fetchone()[0]
            stages = conn.execute("select count(*) from stages").fetchone()[0]
        print(f"database: {bills:,} bills, {stages:,} stage rows ({db})")
        impls = ["select", "chunked"]
        for state in args.states.split(","):
            for impl in impls:
                if state == "refresh" and impl == "select":
                    continue
                runs = [timed(db, work, impl, state) for _ in range(args.n)]
                runs.sort(key=lambda r: r["seconds"])
                mid = runs[len(runs) // 2]
                name = {
                    "select": "baseline: SELECT every input row",
                    "chunked": "reconcile (chunked, this code)",
                }[impl]
                per_bill = f"{mid['seconds'] * 1000 / bills:6.3f} ms/bill" if state != "refresh" else " " * 14
                print(
                    f"{state:8s} {name:34s} {mid['seconds']:7.2f} s  {per_bill}"
                    f"  peak RSS {mid['rss_mb']:5.0f} MB  (n={len(runs)})",
                    flush=True,
                )
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
        print(f"machine: {os.cpu_count()} cores, load average {load} at the end")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"bench wall: {time.perf_counter() - started:.0f} s")
