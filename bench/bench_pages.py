"""Benchmark (not a test): how fast the staffers' pages render, against a canned query as baseline.

Why: the pages compute in Python over whole tables (time in stage reads every stage; the law page
every article of a law), where the canned queries only run SQL. This measures each page's median
response time through an in-process Datasette, on the replay crawl (28 bills) and on a copy
scaled up K times (every bill cloned under a new bill_no with its stages, sponsors, laws,
articles and search keys), beside `bill_timeline.json` measured in the same run.

    .venv/bin/python bench/bench_pages.py            # K=100, N=20
    .venv/bin/python bench/bench_pages.py -k 300 -n 10
    .venv/bin/python bench/bench_pages.py --db /tmp/full150k.db   # searches on a backfilled database

With --db (a database from bench_backfill.py --db, e.g. 150,000 bills): the staffers' search page
and the API's search for broad and narrow, Traditional and Simplified, 1-4 character queries,
beside a bill page of a bill from that database, on that database instead of a clone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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

from billtracker.serve.datasette import datasette_app  # noqa: E402

TODAY = "2026-11-26"
CIO = "1051006070201100"
PAGES = {
    "baseline: bill_timeline.json": f"/billtracker/bill_timeline.json?bill_no={CIO}&_shape=array",
    "bill page /-/bill": f"/-/bill/{CIO}",
    "bills row page": f"/billtracker/bills/{CIO}",
    "law page /-/law/01010": "/-/law/01010",
    "time in stage": "/-/time-in-stage?days=180",
    "search 资讯总处": "/-/search?q=" + quote("资讯总处"),
}
# Measured on a given database (--db): the search page and the API's search, broad to narrow.
SEARCH_WORDS = ["組織法", "组织法", "資訊", "资讯总处", "審查", "法"]
CLONED = ["stages", "sponsors", "bill_laws", "related_bills", "documents", "articles", "article_texts"]


def crawl(db_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "billtracker.cli",
        "crawl",
        "--replay",
        "--db",
        str(db_path),
        "--today",
        TODAY,
    ]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)


def scale(src: Path, dst: Path, k: int) -> int:
    """Clone every bill k-1 times under new numbers (suffix -NNN), with all its rows."""
    shutil.copy(src, dst)
    conn = sqlite3.connect(dst)
    bills = [r[0] for r in conn.execute("select bill_no from bills")]
    for i in range(1, k):
        suffix = f"{i:04d}"
        for table in ["bills", *CLONED]:
            cols = [r[1] for r in conn.execute(f"pragma table_info({table})")]
            select = ", ".join("bill_no || ?" if c == "bill_no" else f'"{c}"' for c in cols)
            quoted = ", ".join(f'"{c}"' for c in cols)
            conn.execute(
                f"insert into {table} ({quoted}) select {select} from {table} where bill_no in "
                f"({','.join('?' * len(bills))})",
                [suffix, *bills],
            )
    conn.commit()
    total = conn.execute("select count(*) from bills").fetchone()[0]
    conn.close()
    return total


def search_pages(db_path: Path) -> dict[str, str]:
    """The pages --db measures: each search word on the page and in the API, and one bill page."""
    with sqlite3.connect(db_path) as conn:
        bill_no = conn.execute("select bill_no from bills order by rowid limit 1 offset 1000").fetchone()[0]
    pages = {
        "baseline: bill page /-/bill": f"/-/bill/{bill_no}",
        "bills row page": f"/{db_path.stem}/bills/{bill_no}",
        "bills table ?_search=組織法": f"/{db_path.stem}/bills.json?_nocount=1&_nofacet=1&_search="
        + quote("組織法"),
    }
    for word in SEARCH_WORDS:
        pages[f"search page {word}"] = "/-/search?q=" + quote(word)
        pages[f"API search.json {word}"] = f"/{db_path.stem}/search.json?q={quote(word)}&_shape=array"
    return pages


def measure(db_path: Path, n: int, pages: dict[str, str] | None = None) -> dict[str, float]:
    ds = datasette_app(db_path)
    pages = pages or PAGES

    async def run() -> dict[str, float]:
        out = {}
        for name, path in pages.items():
            first = await ds.client.get(path)
            assert first.status_code == 200, (path, first.status_code)
            times = []
            for _ in range(n):
                start = time.perf_counter()
                await ds.client.get(path)
                times.append(time.perf_counter() - start)
            out[name] = statistics.median(times) * 1000
        return out

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", type=int, default=100, help="scale factor for the cloned database")
    parser.add_argument("-n", type=int, default=20, help="requests per page")
    parser.add_argument("--db", type=Path, help="measure the searches on this database instead")
    args = parser.parse_args()
    os.environ["BILLTRACKER_TODAY"] = TODAY
    if args.db:
        pages = search_pages(args.db)
        with sqlite3.connect(args.db) as conn:
            bills = conn.execute("select count(*) from bills").fetchone()[0]
        results = measure(args.db, args.n, pages)
        print(f"median ms per request over {args.n} requests (in-process Datasette), {bills:,} bills")
        for page in pages:
            print(f"{page:32} {results[page]:10.1f}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "billtracker.db"
        crawl(small)
        big_dir = Path(tmp) / "big"
        big_dir.mkdir()
        big = big_dir / "billtracker.db"
        bills = scale(small, big, args.k)
        results = {"28 bills": measure(small, args.n), f"{bills} bills": measure(big, args.n)}
    names = list(results)
    print(f"median ms per request over {args.n} requests (in-process Datasette)")
    print(f"{'page':32} " + " ".join(f"{n:>14}" for n in names))
    for page in PAGES:
        print(f"{page:32} " + " ".join(f"{results[n][page]:14.1f}" for n in names))


if __name__ == "__main__":
    main()
