"""Benchmark (not a test): a full backfill of the generated LYAPI-sized corpus through Scrapy.

The replay serves ScaleCorpus bills (billtracker/replay/scale.py) from its own process, with
LYAPI's 10,000-result window. `billtracker backfill --bulk` (issue 11) plans it (limit=1 probes
and aggs split every bill into leaf queries that fit the window) and crawls the plan's pages
with the BULK profile (list pages of 1,000 carrying whole records, laws, related bills no list
carried) into a fresh SQLite file, marking each page done in the ledger, and reconciles them.
Wall time is the whole command, planning included. Baseline, same run: a bare loop that fetches
the same list pages (the plan's) with urllib, json-parses them, normalises them with the same
normalise_bill and writes bills/stages/sponsors with sqlite3 executemany. Also: an incremental
refresh after
``--changed`` bills changed (requests made, wall), and peak RSS of the crawl process (wait4).

    python bench/bench_backfill.py                 # 5,000 bills (quick)
    python bench/bench_backfill.py --bills 150000  # the full corpus (`./dev bench --full`)
    python bench/bench_backfill.py --profile       # + cProfile of the crawl, top functions
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from baseline_rows import BASELINE_SCHEMA, baseline_rows  # noqa: E402

from billtracker.jobs.profiles import BULK  # noqa: E402
from billtracker.jobs.spider_process import replay_settings  # noqa: E402
from billtracker.replay.scale import TERMS  # noqa: E402
from pipelines.normalise.bill_record import normalise_bill  # noqa: E402
from scrapers.clock import utc_now  # noqa: E402
from scrapers.items import BillItem, Provenance  # noqa: E402
from scrapers.tw_ly.responses import sha256  # noqa: E402
from scrapers.tw_ly.window import query_string  # noqa: E402

TODAY = "2026-11-26"
QUERIES = [{"屆": term} for term, *_ in TERMS]
FULL = 150_000
QUICK = 5_000


class Replay:
    """The scale replay in its own process (its CPU is not the crawl's), on a free port."""

    def __init__(self, bills: int, mutations: list[int] | None = None) -> None:
        cmd = [sys.executable, "-c", REPLAY_MAIN, str(bills), json.dumps(mutations or [])]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.proc.kill()
            raise SystemExit(f"replay did not start: {line!r}")
        self.base_url = match.group(1)

    def requests(self) -> int:
        return int(urllib.request.urlopen(f"{self.base_url}/_count").read())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


# A tiny server main: ReplayServer(scale=N) plus a /_count route for the refresh benchmark.
REPLAY_MAIN = """
import json, sys
from billtracker.replay import ReplayServer
server = ReplayServer(port=0, scale=int(sys.argv[1]), mutations=json.loads(sys.argv[2]))
server.overlay = lambda path_qs: (
    (200, str(len(server.requests) - 1).encode(), {}) if path_qs == "/_count" else None)
server.serve_forever(lambda line: print(line, flush=True))
"""


def crawl(
    base_url: str,
    db_path: Path,
    profile_to: Path | None = None,
    extra: dict[str, str] | None = None,
    mode: str = "full",
) -> dict[str, Any]:
    """One `scrapy crawl` subprocess with the BULK profile: wall and CPU seconds, peak RSS (MB)."""
    settings = {**replay_settings(base_url), **BULK, "BILLTRACKER_TODAY": TODAY, **(extra or {})}
    prefix = [sys.executable]
    if profile_to:
        prefix += ["-m", "cProfile", "-o", str(profile_to)]
    cmd = prefix + ["-m", "scrapy", "crawl", "tw_ly_bills", "-s", f"BILLTRACKER_DB={db_path}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += ["-a", "queries=" + json.dumps(QUERIES, ensure_ascii=False), "-a", f"mode={mode}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "scrapers.settings"}
    log = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    log.seek(0)
    stderr = log.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"scrapy crawl failed:\n{stderr[-3000:]}")
    stat = re.search(r"'downloader/request_count': (\d+)", stderr)
    with sqlite3.connect(db_path) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("bills", "stages")}
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "requests": int(stat.group(1)) if stat else 0,
        **counts,
    }


def backfill(base_url: str, db_path: Path) -> dict[str, Any]:
    """`billtracker backfill --bulk` (plan + crawl) in a subprocess: wall and CPU seconds, peak
    RSS (MB) of the command and its crawls (wait4 covers the children it waited for)."""
    cmd = [sys.executable, "-m", "billtracker.cli", "backfill", "--db", str(db_path)]
    cmd += ["--api", f"{base_url}/v2", "--bulk", "--today", TODAY, "--progress-seconds", "30"]
    for key, value in replay_settings(base_url).items():
        if key != "TW_LY_API_BASE":
            cmd += ["--setting", f"{key}={value}"]
    for key in ("CONCURRENT_REQUESTS_PER_DOMAIN", "DOWNLOAD_DELAY", "AUTOTHROTTLE_ENABLED"):
        cmd += ["--setting", f"{key}={BULK[key]}"]  # BULK's, not the replay's 8 per domain
    log = tempfile.TemporaryFile()
    out = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=log)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    log.seek(0), out.seek(0)
    stdout = out.read().decode("utf-8", "replace")
    stderr = log.read().decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"billtracker backfill failed:\n{stderr[-3000:]}")
    with sqlite3.connect(db_path) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("bills", "stages")}
        requests = conn.execute("SELECT count(*) FROM fetches").fetchone()[0]
        leaves = conn.execute("SELECT count(DISTINCT query) FROM backfill_pages").fetchone()[0]
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "requests": requests,
        "leaves": leaves,
        "plan": [line for line in stdout.splitlines() if line.startswith("plan ")],
        "phases": phases(stderr),
        **counts,
    }


STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)"


def phases(log: str) -> dict[str, float]:
    """Seconds of the backfill crawl's phases, from its log's timestamps: crawl + store (spider
    opened to closing), reconcile (closing to reconcile's summary line)."""
    marks: dict[str, datetime] = {}
    patterns = {
        "opened": r"Spider opened",
        "closing": r"Closing spider",
        "reconciled": r"\] INFO: reconcile: ",
    }
    for line in log.splitlines():
        for name, pattern in patterns.items():
            stamp = re.match(STAMP, line)
            if stamp and re.search(pattern, line):
                marks[name] = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")  # the last one
    out = {}
    if "opened" in marks and "closing" in marks:
        out["crawl + store"] = (marks["closing"] - marks["opened"]).total_seconds()
    if "closing" in marks and "reconciled" in marks:
        out["reconcile"] = (marks["reconciled"] - marks["closing"]).total_seconds()
    return out


def plan_pages(db_path: Path) -> list[tuple[dict[str, Any], int]]:
    """The list pages the backfill's plan fetched, for the baseline to fetch too."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT query, page FROM backfill_pages ORDER BY rowid").fetchall()
    return [(json.loads(q), p) for q, p in rows]


def baseline(base_url: str, db_path: Path, pages: list[tuple[dict[str, Any], int]]) -> dict[str, Any]:
    """The same responses as the crawl (whole-record list pages; details only if the list is not
    whole), urllib + json.loads + normalise_bill + executemany, sequential."""
    start = time.perf_counter()
    today = date.fromisoformat(TODAY)
    api = f"{base_url}/v2"
    conn = sqlite3.connect(db_path)
    conn.executescript(BASELINE_SCHEMA)
    bills: list[tuple] = []
    stages: list[tuple] = []
    sponsors: list[tuple] = []
    seen: set[str] = set()

    def flush() -> None:
        with conn:
            conn.executemany("INSERT OR REPLACE INTO bills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", bills)
            conn.executemany("INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?, ?)", stages)
            conn.executemany("INSERT OR REPLACE INTO sponsors VALUES (?, ?, ?, ?, ?, ?)", sponsors)
        bills.clear(), stages.clear(), sponsors.clear()

    fields = BULK["TW_LY_LIST_FIELDS"].split(",")
    for query, page in pages:
        # one page of the plan (its query fits the window)
        params = [("page", str(page)), ("limit", BULK["TW_LY_PAGE_LIMIT"])]
        params += [("output_fields", f) for f in fields]
        list_url = f"{api}/bills?{'&'.join(query_string(query))}&{urlencode(params)}"
        body = urllib.request.urlopen(list_url).read()
        listing = json.loads(body)
        whole = set(fields) <= set(listing.get("output_fields") or [])
        list_sha = sha256(body)
        for entry in listing["bills"]:
            bill_no = str(entry["議案編號"])
            if bill_no in seen:
                continue
            seen.add(bill_no)
            url, record, sha = list_url, entry, list_sha
            if not whole:  # the same responses as the crawl: a detail when the list is not whole
                url = f"{api}/bills/{quote(bill_no)}"
                detail = urllib.request.urlopen(url).read()
                record, sha = json.loads(detail)["data"], sha256(detail)
            norm = normalise_bill(BillItem(bill_no, record, Provenance(url, utc_now(), sha, "x")), today)
            bill, bill_stages, bill_sponsors = baseline_rows(norm)
            bills.append(bill)
            stages.extend(bill_stages)
            sponsors.extend(bill_sponsors)
        flush()
    n = conn.execute("SELECT count(*) FROM bills").fetchone()[0]
    conn.close()
    return {"wall": time.perf_counter() - start, "bills": n}


def top_functions(profile: Path, n: int = 12) -> None:
    stats = pstats.Stats(str(profile))
    stats.sort_stats("tottime").print_stats(n)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = FULL if os.environ.get("BENCH_FULL") else QUICK
    parser.add_argument("--bills", type=int, default=default, help=f"corpus size (default {default})")
    parser.add_argument("--changed", type=int, default=100, help="bills changed for the refresh run")
    parser.add_argument("--profile", action="store_true", help="cProfile the crawl; print top functions")
    parser.add_argument("--profile-out", help="with --profile: keep the cProfile file here (for pstats)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-refresh", action="store_true", help="skip the incremental refresh run")
    parser.add_argument("--db", help="write the backfill here and keep it (e.g. for bench_api.py --db)")
    args, _ = parser.parse_known_args(argv)
    step = max(1, args.bills // max(1, args.changed))
    changed = list(range(0, args.bills, step))[: args.changed]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db) if args.db else Path(tmp) / "backfill.db"
        if db.exists():
            raise SystemExit(f"{db} exists: the backfill needs a fresh file")
        replay = Replay(args.bills)
        try:
            prof = Path(args.profile_out or Path(tmp) / "crawl.prof") if args.profile else None
            if prof:  # the profiled crawl is the plain full pass: cProfile sees one process
                result = crawl(replay.base_url, db, prof)
            else:
                result = backfill(replay.base_url, db)
            pages = plan_pages(db) if not prof else []
            base = (
                None
                if args.no_baseline or not pages
                else baseline(replay.base_url, Path(tmp) / "b.db", pages)
            )
        finally:
            replay.close()
        report(args.bills, result, base)
        if prof:
            top_functions(prof)
        if not args.no_refresh:
            refresh(args.bills, changed, db)


def refresh(bills: int, changed: list[int], db: Path) -> None:
    """Incremental refresh (issue 4's `-a mode=incremental`): the same corpus with `changed` bills
    given one more stage, dated after everything else, as LYAPI's newest-first list shows them."""
    replay = Replay(bills, changed)
    try:
        before = replay.requests()
        result = crawl(replay.base_url, db, mode="incremental")
        made = replay.requests() - before
    finally:
        replay.close()
    with sqlite3.connect(db) as conn:
        updated = conn.execute("SELECT count(*) FROM stages WHERE status_raw = '審查完畢'").fetchone()[0]
    print(f"incremental refresh after {len(changed)} bills changed: {made:,} requests, ", end="")
    print(f"{result['wall']:.1f} s wall ({result['cpu']:.1f} s CPU); {updated} changed stages stored")


def report(bills: int, result: dict[str, Any], base: dict[str, Any] | None) -> None:
    wall, cpu = result["wall"], result["cpu"]
    print(f"backfill of {bills:,} generated bills ({result['stages']:,} stage rows), BULK profile")
    for line in result.get("plan", []):
        print(f"  {line}")
    print(f"  billtracker backfill (plan + crawl, window splitting on): {wall:.1f} s wall -> ", end="")
    print(f"{result['bills'] / wall:.0f} bills/s; ", end="")
    print(f"{cpu:.1f} s CPU -> {result['bills'] / cpu:.0f} bills per CPU-second; ", end="")
    print(f"{result['requests']:,} requests; peak RSS {result['rss_mb']:.0f} MB")
    if result.get("phases"):
        print(
            "  phases (log timestamps, 1 s): "
            + ", ".join(f"{k} {v:.0f} s" for k, v in result["phases"].items())
        )
    if base:
        print(f"  baseline urllib + json + normalise + executemany: {base['wall']:.1f} s -> ", end="")
        print(f"{base['bills'] / base['wall']:.0f} bills/s; scrapy/baseline {wall / base['wall']:.2f}x wall")
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
