"""Benchmark (not a test): the search page and the API's search, two codes on two databases, A/B.

Why: issue 12 replaced three full-text indexes with one, and asked that search be no slower at
150,000 bills. The machine is shared, so one run of each would measure the load: this runs both
in one process, alternating query by query (`billtracker.serve.read.search.search` of each code on its
database, and each code's `search` canned query SQL), and checks that every query returns the same
bills, order and matched fields from both.

    git archive main | tar -x -C /tmp/base      # the code before; its backfill: /tmp/full150k.db
    cp /tmp/full150k.db /tmp/after.db
    .venv/bin/python -c "from pipelines.schema import open_db; open_db('/tmp/after.db')"
    .venv/bin/python bench/bench_search_ab.py --baseline-code /tmp/base \
        --before /tmp/full150k.db --after /tmp/after.db
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from billtracker.serve.read import search as this  # noqa: E402

QUERIES = ["組織法", "组织法", "資訊", "资讯总处", "審查", "長照", "法", "稅"]


def module_at(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA cache_size = -65536")  # as the billtracker_api plugin sets it
    return conn


def api_sql(code: Path) -> str:
    meta = json.loads((code / "datasette_metadata.json").read_text(encoding="utf-8"))
    return meta["databases"]["billtracker"]["queries"]["search"]["sql"]


def api(conn: sqlite3.Connection, sql: str, q: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sql, {"q": q})]


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-code", type=Path, required=True, help="a checkout of the code before")
    parser.add_argument("--before", type=Path, required=True, help="the database that code wrote")
    parser.add_argument("--after", type=Path, required=True, help="the same, migrated by this code")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    # the search module of the baseline checkout, in either layout (folders since issue 12);
    # its own imports resolve against this checkout, so the baseline must share its helpers
    old_path = args.baseline_code / "billtracker" / "serve" / "read" / "search.py"
    if not old_path.exists():
        old_path = args.baseline_code / "billtracker" / "search.py"
    old = module_at(old_path, "baseline_search")
    before, after = connect(args.before), connect(args.after)
    old_sql, new_sql = api_sql(args.baseline_code), api_sql(REPO)
    this.search(after, QUERIES[0])  # the spelling table is built once a process
    print(f"median / min ms of {args.rounds} alternating rounds")
    print(f"{'query':10} {'page before':>14} {'page after':>12} {'API before':>12} {'API after':>11}")
    for q in QUERIES:
        times: list[list[float]] = [[], [], [], []]
        for _ in range(args.rounds):
            t0, page_b = timed(old.search, before, q)
            t1, page_a = timed(this.search, after, q)
            t2, api_b = timed(api, before, old_sql, q)
            t3, api_a = timed(api, after, new_sql, q)
            for series, t in zip(times, (t0, t1, t2, t3), strict=True):
                series.append(t)
        assert [(b["bill_no"], [m["field"] for m in b["matches"]]) for b in page_b] == [
            (b["bill_no"], [m["field"] for m in b["matches"]]) for b in page_a
        ], q
        assert api_b == api_a, q
        cells = [f"{statistics.median(s) * 1000:6.1f}/{min(s) * 1000:5.1f}" for s in times]
        print(f"{q:10} {cells[0]:>14} {cells[1]:>12} {cells[2]:>12} {cells[3]:>11}  {len(page_b)} bills")


if __name__ == "__main__":
    main()
