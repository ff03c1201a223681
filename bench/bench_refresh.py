"""Benchmark (not a test): requests per incremental refresh against bills changed.

On the replay, snapshot A is the samples with the last 議案流程 entry of N bills removed; B is
the samples. After a full crawl of A, B is crawled twice from copies of that database: once by
the incremental refresh (list sorted by 最新進度日期, details only of new/changed bills, stop at
the first unchanged page) and once by a full crawl, the baseline measured in the same run.
The target is list pages + N detail requests, not M (all bills).

The N changed bills are those with the latest 最新進度日期: what changes upstream is what was
recently active, and the stop-at-an-unchanged-page rule relies on that order.

    .venv/bin/python bench/bench_refresh.py              # N = 0 1 2 4 8, page size 5
    .venv/bin/python bench/bench_refresh.py --limit 100
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
sys.path.insert(0, str(REPO))

from billtracker.jobs.spider_process import replay_settings  # noqa: E402
from billtracker.jobs.spiders import replay_queries  # noqa: E402
from billtracker.replay import ReplayServer  # noqa: E402
from billtracker.replay.snapshots import rewind, rewindable  # noqa: E402

TODAY = "2026-11-26"


def crawl(base_url: str, db_path: Path, mode: str, limit: int) -> float:
    settings = {**replay_settings(base_url), "BILLTRACKER_TODAY": TODAY, "TW_LY_PAGE_LIMIT": str(limit)}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tw_ly_bills", "-s", f"BILLTRACKER_DB={db_path}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += ["-a", "queries=" + json.dumps(replay_queries(), ensure_ascii=False), "-a", f"mode={mode}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"crawl failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def kinds(requests: list[str]) -> dict[str, int]:
    counts = {"list": 0, "bill": 0, "law": 0, "other": 0}
    for r in requests:
        key = "list" if r.startswith("/v2/bills?") else "bill" if r.startswith("/v2/bills/") else None
        key = key or ("law" if r.startswith("/v2/laws/") else "other")
        counts[key] += 1
    return counts


def changes_of_last_run(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "select count(distinct bill_no) from changes where run_id = (select max(id) from scrape_runs)"
        ).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changed", type=int, nargs="+", default=[0, 1, 2, 4, 8])
    parser.add_argument("--limit", type=int, default=5, help="list page size (TW_LY_PAGE_LIMIT)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    with ReplayServer() as server:
        snapshot_b = server.data
        by_date = rewindable(snapshot_b)
        total = len(snapshot_b.bills)
        print(f"replay: M = {total} bills, list page size {args.limit}, queries {replay_queries()}")
        header = (
            f"{'N':>3} | {'incr. req':>9} {'list':>4} {'bill':>4} {'law':>3} | {'target':>6} | "
            f"{'full req':>8} | {'bills changed':>13} | {'incr. s':>7} {'full s':>6}"
        )
        print(header)
        print("-" * len(header))
        for n in args.changed:
            changed = by_date[:n]
            server.data, _ = rewind(snapshot_b, changed)
            base = work / f"a{n}.db"
            crawl(server.base_url, base, "full", args.limit)
            server.data = snapshot_b
            results = {}
            for mode in ("incremental", "full"):
                db_path = work / f"{mode}{n}.db"
                shutil.copy(base, db_path)
                for suffix in ("-wal", "-shm"):
                    if Path(f"{base}{suffix}").exists():
                        shutil.copy(f"{base}{suffix}", f"{db_path}{suffix}")
                seen = len(server.requests)
                seconds = crawl(server.base_url, db_path, mode, args.limit)
                requests = [r for r in server.requests[seen:] if r != "/robots.txt"]
                results[mode] = (requests, seconds, changes_of_last_run(db_path))
            inc, inc_s, inc_changed = results["incremental"]
            full, full_s, full_changed = results["full"]
            k = kinds(inc)
            target = k["list"] + n
            assert inc_changed == full_changed == n, (n, inc_changed, full_changed)
            print(
                f"{n:>3} | {len(inc):>9} {k['list']:>4} {k['bill']:>4} {k['law']:>3} | {target:>6} | "
                f"{len(full):>8} | {inc_changed:>6} / {full_changed:<6} | {inc_s:>7.2f} {full_s:>6.2f}"
            )
    shutil.rmtree(work, ignore_errors=True)
    print("incr. = incremental refresh; full = the baseline full crawl of the same B from the same A state.")
    print(
        "target = list pages read + N changed bills; 'bills changed' = bills with change events"
        " (incr / full)."
    )


if __name__ == "__main__":
    main()
