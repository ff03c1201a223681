"""Benchmark (not a test): what reconcile costs after each crawl, against reading its inputs.

Why: reconcile runs after every spider (ReconcilePipeline.close_spider) over the whole database,
not per item. This measures it on the replay database (28 bills, every source) in two states --
steady (already reconciled: the common case) and from scratch (its own tables emptied) -- against
a baseline measured in the same run: a plain SELECT of every row reconcile reads.

    .venv/bin/python bench/bench_reconcile.py        # N=5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.reconcile import MERGED_SEQ, reconcile  # noqa: E402
from pipelines.schema import open_db  # noqa: E402

TODAY = date(2026, 11, 26)
INPUTS = [
    "bills",
    "stages",
    "sponsors",
    "source_bills",
    "source_stages",
    "related_bills",
    "legislators",
    "bill_laws",
    "law_versions",
    "lis_law_versions",
]


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    db_path = work / "replay.db"
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "billtracker.cli",
            "crawl",
            "--replay",
            "--db",
            str(db_path),
            "--today",
            TODAY.isoformat(),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    print(f"full replay crawl, 5 spiders, reconcile after each: {time.perf_counter() - start:.1f} s")
    baseline, steady, scratch = [], [], []
    for i in range(args.n):
        copy = work / f"run{i}.db"
        shutil.copy(db_path, copy)
        db = open_db(copy)
        baseline.append(timed(lambda db=db: [list(db.query(f"select * from {t}")) for t in INPUTS]))
        steady.append(timed(lambda db=db: reconcile(db, TODAY)))
        for table in ("stage_sources", "disagreements", "merged_reviews"):
            db.execute(f"delete from {table}")
        db.execute("delete from stages where seq >= ?", [MERGED_SEQ])
        db.conn.commit()
        scratch.append(timed(lambda db=db: reconcile(db, TODAY)))
        db.close()
    counts = {t: open_db(db_path)[t].count for t in ("bills", "stages", "source_bills", "disagreements")}
    print(f"database: {counts}")
    for name, values in (
        ("baseline: SELECT every input row", baseline),
        ("reconcile, steady state", steady),
        ("reconcile, from scratch", scratch),
    ):
        print(f"{name:36s} median {statistics.median(values) * 1000:7.1f} ms  (n={len(values)})")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
