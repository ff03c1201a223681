"""Benchmark (not a test): the public API of one Datasette process on a backfilled database.

wrk (Debian's package) drives one `datasette serve` process, started exactly as `billtracker
serve` starts it, on 127.0.0.1. Per endpoint: p50/p99 latency and requests/s at 1, 4 and 8
connections (one connection: latency without queueing; 8: the process saturated, latency then
includes waiting behind the other 7), over bill numbers / law codes / search words drawn from the
database. Baselines in the same run: the same SQL of each canned query run directly with sqlite3
in this process (no HTTP, no Datasette); a static file as the HTTP floor; and the same server on
uvicorn's fallback stack (asyncio + h11 instead of uvloop + httptools).

    python bench/bench_api.py --db /tmp/full150k.db     # a database from bench_backfill.py --db
    python bench/bench_api.py                          # backfills 5,000 generated bills first
    python bench/bench_api.py --seconds 10 --connections 2,8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_backfill import FULL, QUICK, Replay, crawl  # noqa: E402

from billtracker.serve.datasette import datasette_args, write_metadata_for  # noqa: E402

SEARCH_WORDS = ["組織法", "勞動基準", "資訊", "條例", "選舉罷免", "行政院", "草案", "第六條"]
SEARCH_CHARS = ["法", "案", "鯨", "稅"]  # one character: the shortest query a staffer types


def samples(db: Path, n: int = 200) -> dict[str, list[str]]:
    """Bill numbers, law codes and search words for the load, drawn at random."""
    with sqlite3.connect(db) as conn:
        bills = [r[0] for r in conn.execute("SELECT bill_no FROM bills ORDER BY random() LIMIT ?", [n])]
        # Each law with bills equally likely (a reader opening a law's page), not weighted by size.
        laws = [
            r[0]
            for r in conn.execute("SELECT DISTINCT law_code FROM bill_laws ORDER BY random() LIMIT ?", [n])
        ]
        # A keyset page at a random depth: the page after a random bill of a random law.
        pages = [
            f"{r[0]}&before={quote((r[1] or '') + '/' + r[2])}"
            for r in conn.execute(
                """SELECT bl.law_code, (SELECT max(s."on") FROM stages s
                     WHERE s.bill_no = bl.bill_no AND s.origin != 'derived'), bl.bill_no
                   FROM bill_laws bl ORDER BY random() LIMIT ?""",
                [n],
            )
        ]
    return {"bills": bills, "laws": laws, "pages": pages, "words": SEARCH_WORDS, "chars": SEARCH_CHARS}


def start_datasette(db: Path, tmp: Path, plain: bool = False) -> tuple[subprocess.Popen[str], str]:
    """`datasette serve` as `billtracker serve` runs it; plain=True hides uvloop and httptools from
    uvicorn (modules that fail to import, first on PYTHONPATH), so it falls back to asyncio + h11."""
    metadata = write_metadata_for(db, tmp)
    args = datasette_args(str(db), 0, "127.0.0.1", metadata)
    env = dict(os.environ)
    if plain:
        stubs = tmp / "plain-stack"
        stubs.mkdir(exist_ok=True)
        for module in ("uvloop", "httptools"):
            stub = "raise ImportError('hidden by bench_api')\n"
            (stubs / f"{module}.py").write_text(stub, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(stubs), env.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        args, cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline() if proc.stderr else ""
        match = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return proc, match.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("datasette did not start")


LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def wrk(base: str, paths: list[str], seconds: int, connections: int, tmp: Path) -> dict[str, float]:
    """One wrk run rotating over paths: p50, p99 (ms), requests/s, non-2xx count."""
    script = tmp / "paths.lua"
    script.write_text(LUA % ",".join(json.dumps(p) for p in paths), encoding="utf-8")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50": ms("50"),
        "p99": ms("99"),
        "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def direct_sql_ms(db: Path, name: str, params: list[dict[str, str]]) -> float:
    """p50 of the canned query's own SQL run with sqlite3 in this process: the floor Datasette adds to."""
    metadata = json.loads((REPO / "datasette_metadata.json").read_text(encoding="utf-8"))
    sql = metadata["databases"]["billtracker"]["queries"][name]["sql"]
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    times = []
    for p in params:
        start = time.perf_counter()
        conn.execute(sql, p).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    conn.close()
    return statistics.median(times)


def server_stack() -> str:
    """Which event loop and HTTP parser uvicorn picks (it takes uvloop / httptools when they import)."""
    import importlib

    def imports(module: str) -> bool:
        try:
            importlib.import_module(module)
        except ImportError:
            return False
        return True

    loop = "uvloop" if imports("uvloop") else "asyncio"
    http = "httptools" if imports("httptools") else "h11"
    return f"uvicorn with {loop} + {http}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a backfilled database (default: backfill generated bills first)")
    default = FULL if os.environ.get("BENCH_FULL") else QUICK
    parser.add_argument(
        "--bills", type=int, default=default, help=f"bills to backfill without --db ({default})"
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument(
        "--connections",
        default="1,4,8",
        help="comma-separated wrk connection counts, each endpoint measured at every one (1,4,8)",
    )
    args, _ = parser.parse_known_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("bench_api needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = Path(args.db) if args.db else tmp / "billtracker.db"
        if not args.db:
            replay = Replay(args.bills)
            try:
                crawl(replay.base_url, db)
            finally:
                replay.close()
        s = samples(db)
        name = db.stem
        endpoints = {
            "bill_timeline": [f"/{name}/bill_timeline.json?bill_no={b}&_shape=array" for b in s["bills"]],
            "law_bills": [f"/{name}/law_bills.json?law={c}&_shape=array" for c in s["laws"]],
            "law_bills, a later page": [f"/{name}/law_bills.json?law={p}&_shape=array" for p in s["pages"]],
            "search": [f"/{name}/search.json?q={quote(w)}&_shape=array" for w in s["words"]],
            "search, 1 character": [f"/{name}/search.json?q={quote(w)}&_shape=array" for w in s["chars"]],
            "bill page HTML (/-/bill/)": [f"/-/bill/{b}" for b in s["bills"][:50]],
            "bills row page HTML": [f"/{name}/bills/{b}" for b in s["bills"][:50]],
            "floor: static file": ["/-/static/app.css"],
        }
        counts = [int(c) for c in str(args.connections).split(",") if c.strip()]
        # Baseline in the same run: the same server on uvicorn's fallback stack (no uvloop /
        # httptools), measured right after the main server at each step so both see the same load.
        plain_labels = ("law_bills", "floor: static file")
        proc, base = start_datasette(db, tmp)
        plain_proc, plain_base = start_datasette(db, tmp, plain=True)
        try:
            for paths in endpoints.values():  # warm the page cache and Datasette's caches
                wrk(base, paths, 1, 2, tmp)
            for label in plain_labels:
                wrk(plain_base, endpoints[label], 1, 2, tmp)
            results, plain = {}, {}
            for label, paths in endpoints.items():
                for c in counts:
                    results[label, c] = wrk(base, paths, args.seconds, c, tmp)
                    if label in plain_labels:
                        plain[label, c] = wrk(plain_base, paths, args.seconds, c, tmp)
        finally:
            for p in (proc, plain_proc):
                p.terminate()
                p.wait()
        with sqlite3.connect(db) as conn:
            n_bills = conn.execute("SELECT count(*) FROM bills").fetchone()[0]
        print(
            f"API of one Datasette process on {n_bills:,} bills ({db.stat().st_size / 1e6:.0f} MB), wrk ",
            end="",
        )
        print(f"{args.seconds} s per endpoint and connection count, {os.cpu_count()} cores, {server_stack()}")
        print(f"{'endpoint':<28} {'conn':>5} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'non-2xx':>8}")
        for (label, c), r in results.items():
            print(f"{label:<28} {c:>5} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.0f} {r['errors']:>8}")
        print("baseline: the same server on uvicorn's fallback stack, asyncio + h11:")
        for (label, c), r in plain.items():
            print(f"{label:<28} {c:>5} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['rps']:>8.0f} {r['errors']:>8}")
        print("baseline: the same SQL via sqlite3 in-process, p50 ms: ", end="")
        print(
            f"bill_timeline {direct_sql_ms(db, 'bill_timeline', [{'bill_no': b} for b in s['bills']]):.2f}, "
            f"law_bills {direct_sql_ms(db, 'law_bills', [{'law': c, 'before': ''} for c in s['laws']]):.2f}, "
            f"search {direct_sql_ms(db, 'search', [{'q': w} for w in s['words']]):.2f}"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
