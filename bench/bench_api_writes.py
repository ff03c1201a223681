"""Benchmark (not a test): what issue 6's serving triggers (pipelines/schema/api.py) cost the writers.

Writes N bills, each with 7 stages (one derived) and one law, into a freshly migrated database,
once with the triggers that keep bill_laws.last_on and bills_recent_fts and once without them
(dropped): the baseline, in the same run, alternating, median of the repeats.

    python bench/bench_api_writes.py                 # 20,000 bills x 3
    python bench/bench_api_writes.py --bills 50000 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.schema import open_db  # noqa: E402

TITLE = "「行政院組織法第{n}條條文修正草案」，請審議案。"
REASON = "為因應數位發展，強化政府資訊治理，爰擬具「行政院組織法第{n}條條文修正草案」。"


def rows(n: int) -> tuple[list[tuple], list[tuple], list[tuple]]:
    bills, stages, laws = [], [], []
    for i in range(n):
        bill_no = f"2011{i:011d}"
        filed = f"20{20 + i % 6}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        bills.append((bill_no, TITLE.format(n=i % 97), REASON.format(n=i % 97), filed))
        for seq in range(1, 7):
            stages.append((bill_no, seq, "flow", f"{filed[:8]}{1 + (i + seq) % 28:02d}"))
        stages.append((bill_no, 1000, "derived", "2028-01-31"))
        laws.append((bill_no, f"{1 + i % 1430:05d}"))
    return bills, stages, laws


def write(n: int, triggers: bool, data: tuple[list[tuple], list[tuple], list[tuple]]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "billtracker.db")
        conn = db.conn
        if not triggers:
            names = conn.execute(
                "select name from sqlite_master where type = 'trigger' "
                "and (name like '%last_on%' or name like 'bills_recent_fts%')"
            ).fetchall()
            for (name,) in names:
                conn.execute(f"drop trigger {name}")
        bills, stages, laws = data
        start = time.perf_counter()
        with conn:
            insert_bills = "insert into bills (bill_no, title, reason, filed_on) values (?, ?, ?, ?)"
            conn.executemany(insert_bills, bills)
            conn.executemany('insert into stages (bill_no, seq, origin, "on") values (?, ?, ?, ?)', stages)
            conn.executemany("insert into bill_laws (bill_no, law_code) values (?, ?)", laws)
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args, _ = parser.parse_known_args()
    data = rows(args.bills)
    with_t, without = [], []
    for _ in range(args.repeats):
        without.append(write(args.bills, False, data))
        with_t.append(write(args.bills, True, data))
    a, b = statistics.median(without), statistics.median(with_t)
    print(f"issue 6 triggers, {args.bills:,} bills x 7 stages + 1 law, median of {args.repeats}:")
    print(f"  without (baseline) {a:.2f} s, with {b:.2f} s: +{(b - a) / args.bills * 1e6:.0f} us per bill")


if __name__ == "__main__":
    main()
