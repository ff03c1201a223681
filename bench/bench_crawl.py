"""Benchmark (not a test): a full replay crawl through Scrapy vs. a bare urllib + sqlite3 loop.

Why: the Scrapy stack (subprocess, reactor, middlewares, pipelines, sqlite-utils upserts, FTS
triggers) buys politeness, retries and provenance; this measures what it costs against the least
code that fetches the same URLs from the same replay and writes the same bills/stages/sponsors rows.

    .venv/bin/python bench/bench_crawl.py            # N=5
    .venv/bin/python bench/bench_crawl.py -n 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from baseline_rows import BASELINE_SCHEMA, baseline_rows  # noqa: E402

from billtracker.jobs.spider_process import replay_settings  # noqa: E402
from billtracker.jobs.spiders import replay_queries  # noqa: E402
from billtracker.replay import ReplayServer  # noqa: E402
from pipelines.normalise.bill_record import normalise_bill  # noqa: E402
from scrapers.clock import utc_now  # noqa: E402
from scrapers.items import BillItem, Provenance  # noqa: E402
from scrapers.tw_ly.responses import sha256  # noqa: E402

TODAY = "2026-11-26"
PAGE_LIMIT = 100


def scrapy_crawl(base_url: str, db_path: Path) -> tuple[float, float, int]:
    """One `scrapy crawl tw_ly_bills` subprocess, as `billtracker crawl` runs it.

    Returns (wall seconds, Scrapy's own elapsed_time_seconds, bills stored)."""
    settings = {**replay_settings(base_url), "BILLTRACKER_TODAY": TODAY, "LOG_LEVEL": "INFO"}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "tw_ly_bills", "-s", f"BILLTRACKER_DB={db_path}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += ["-a", "queries=" + json.dumps(replay_queries(), ensure_ascii=False)]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"scrapy crawl failed:\n{result.stderr[-3000:]}")
    match = re.search(r"'elapsed_time_seconds': ([0-9.]+)", result.stderr)
    with sqlite3.connect(db_path) as conn:
        bills = conn.execute("SELECT count(*) FROM bills").fetchone()[0]
    return wall, float(match.group(1)) if match else float("nan"), bills


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def baseline(base_url: str, db_path: Path) -> tuple[float, int]:
    """The same URLs (list pages, bill details, 關連議案 details, laws), json.loads, the same
    normalise_bill rows, sqlite3 executemany. Sequential, no retries, no politeness."""
    start = time.perf_counter()
    today = date.fromisoformat(TODAY)
    api = f"{base_url}/v2"
    bills: list[tuple] = []
    stages: list[tuple] = []
    sponsors: list[tuple] = []
    seen: set[str] = set()
    queue: list[str] = []
    for query in replay_queries():
        page, total_page = 1, 1
        while page <= total_page:
            params = {**{k: str(v) for k, v in query.items()}, "page": page, "limit": PAGE_LIMIT}
            _, body = get(f"{api}/bills?{urlencode(params)}")
            listing = json.loads(body)
            total_page = int(listing.get("total_page") or 0)
            queue += [str(b["議案編號"]) for b in listing["bills"]]
            page += 1
    laws: set[str] = set()
    while queue:
        bill_no = queue.pop(0)
        if bill_no in seen:
            continue
        seen.add(bill_no)
        url = f"{api}/bills/{quote(bill_no)}"
        status, body = get(url)
        if status != 200:
            continue
        record: dict[str, Any] = json.loads(body)["data"]
        prov = Provenance(url, utc_now(), sha256(body), "baseline")
        norm = normalise_bill(BillItem(bill_no, record, prov), today)
        bill, bill_stages, bill_sponsors = baseline_rows(norm)
        bills.append(bill)
        stages += bill_stages
        sponsors += bill_sponsors
        laws.update(str(code) for code in record.get("法律編號") or [])
        queue += [str(r["議案編號"]) for r in record.get("關連議案") or [] if r.get("議案編號")]
    for code in sorted(laws):
        json.loads(get(f"{api}/laws/{quote(code)}")[1])
    conn = sqlite3.connect(db_path)
    conn.executescript(BASELINE_SCHEMA)
    with conn:
        conn.executemany("INSERT INTO bills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", bills)
        conn.executemany("INSERT INTO stages VALUES (?, ?, ?, ?, ?, ?, ?)", stages)
        conn.executemany("INSERT INTO sponsors VALUES (?, ?, ?, ?, ?, ?)", sponsors)
    conn.close()
    return time.perf_counter() - start, len(bills)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--samples", help="samples dir (default: $BILLTRACKER_SAMPLES or ../shared/samples)")
    args = parser.parse_args(argv)
    scrapy_walls: list[float] = []
    engine_times: list[float] = []
    base_walls: list[float] = []
    n_bills = n_base = 0
    with ReplayServer(args.samples) as server, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            wall, engine, n_bills = scrapy_crawl(server.base_url, Path(tmp) / f"scrapy-{i}.db")
            scrapy_walls.append(wall)
            engine_times.append(engine)
            seconds, n_base = baseline(server.base_url, Path(tmp) / f"baseline-{i}.db")
            base_walls.append(seconds)
    if n_bills != n_base:
        raise SystemExit(f"the two stored different bill counts: scrapy {n_bills}, baseline {n_base}")
    s_med, e_med, b_med = (statistics.median(x) for x in (scrapy_walls, engine_times, base_walls))
    print(f"runs: {args.n} of each; bills per run: {n_bills}")
    print(f"scrapy crawl (subprocess, wall): median {s_med:.3f} s  -> {n_bills / s_med:.1f} bills/s")
    print(f"  of which Scrapy engine elapsed: median {e_med:.3f} s  -> {n_bills / e_med:.1f} bills/s")
    print(f"bare urllib + sqlite3 loop:      median {b_med:.3f} s  -> {n_bills / b_med:.1f} bills/s")
    print(f"ratio scrapy/baseline: {s_med / b_med:.1f}x wall, {e_med / b_med:.1f}x engine-only")


if __name__ == "__main__":
    main()
