"""Benchmark (not a test): the shared corpus of real 9th-term bills through the real engine vs a
bare json + sqlite3 loop over the same records (issue 10, item 9).

Why: the engine (replay HTTP, Scrapy, pipelines, sqlite-utils, reconcile) buys provenance,
problems and reconciliation; this says what that costs per real bill, and how much memory a
whole-corpus crawl needs, against the least code that reads the same bill-detail/ and proposal/
files and writes the same bills and stages rows.

    .venv/bin/python bench/bench_corpus.py                       # ../shared/corpus/ly-term9
    .venv/bin/python bench/bench_corpus.py --corpus DIR --no-all

Runs (one each; ~2.5 min on 2 cores):
- `billtracker crawl tw_ly_bills --replay --corpus DIR`: the bills spider alone, the path of
  the records into bills and stages (the fair match for the loop);
- `billtracker crawl --replay --corpus DIR`: every spider plus reconcile, as CI crawls it;
- the bare loop in a child process: json.loads of both files, the replay's own derive_bill and
  normalise_bill (the same rows), sqlite3 executemany; and a floor that only json-loads the files
  and inserts the 議案流程 entries as they are.
Peak memory: the largest single process of the crawl's tree (wait4's ru_maxrss covers waited-for
descendants) and the sum over the tree, sampled every 0.2 s from /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from baseline_rows import BASELINE_SCHEMA, baseline_rows  # noqa: E402

TODAY = "2026-12-01"
SAMPLES = REPO.parent / "shared" / "samples"
CORPUS = REPO.parent / "shared" / "corpus" / "ly-term9"
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and every descendant, read from /proc (no psutil needed)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            statm = Path(f"/proc/{entry}/statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = int(statm[1]) * PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def measured(cmd: list[str]) -> dict[str, Any]:
    """Run `cmd`: wall, CPU of the tree, peak RSS of its largest process and of the whole tree."""
    log = tempfile.TemporaryFile()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    log.seek(0)
    output = log.read().decode("utf-8", "replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed:\n{output[-3000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_max_mb": usage.ru_maxrss / 1024,
        "rss_tree_mb": peak[0] / 2**20,
        "output": output,
    }


def counts(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("bills", "stages")}


def engine(db_path: Path, corpus: Path, spiders: list[str]) -> dict[str, Any]:
    """`billtracker crawl [SPIDERS] --replay --corpus`, the real CLI in a subprocess."""
    cli = [sys.executable, "-m", "billtracker.cli", "crawl", *spiders, "--replay", str(SAMPLES)]
    result = measured(cli + ["--corpus", str(corpus), "--db", str(db_path), "--today", TODAY])
    return result | counts(db_path)


def bare(corpus: Path, db_path: Path) -> dict[str, Any]:
    """The loop, in this process: every bill page with its proposal, derive_bill (the replay's
    record), normalise_bill (the engine's rows), one executemany per table."""
    from billtracker.replay.corpus import load_corpus
    from billtracker.replay.derive import derive_bill, law_codes_by_name, read_catalogue
    from pipelines.normalise.bill_record import normalise_bill
    from scrapers.clock import utc_now
    from scrapers.items import BillItem, Provenance
    from scrapers.tw_ly.responses import sha256

    start = time.perf_counter()
    loaded = load_corpus(corpus)
    index = law_codes_by_name(read_catalogue(SAMPLES))
    today = date.fromisoformat(TODAY)
    bills: list[tuple] = []
    stages: list[tuple] = []
    for bill_no, detail_path in sorted(loaded.details.items()):
        body = detail_path.read_bytes()
        detail = json.loads(body)
        proposal_path = loaded.proposals.get(bill_no)
        proposal = json.loads(proposal_path.read_bytes()) if proposal_path else {}
        record = derive_bill(bill_no, detail, proposal, index, loaded.captured_at)
        prov = Provenance(str(detail_path), utc_now(), sha256(body), "bare")
        bill, bill_stages, _ = baseline_rows(normalise_bill(BillItem(bill_no, record, prov), today))
        bills.append(bill)
        stages += bill_stages
    conn = sqlite3.connect(db_path)
    conn.executescript(BASELINE_SCHEMA)
    with conn:
        conn.executemany("INSERT OR REPLACE INTO bills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", bills)
        conn.executemany("INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?, ?)", stages)
    conn.close()
    return {"wall": time.perf_counter() - start, "bills": len(bills), "stages": len(stages)}


def floor(corpus: Path, db_path: Path) -> dict[str, Any]:
    """The least work: json.loads each file, insert a bill row and its 議案流程 entries as they are."""
    start = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.executescript(BASELINE_SCHEMA)
    bills: list[tuple] = []
    stages: list[tuple] = []
    for path in sorted((corpus / "bill-detail").glob("*.json")):
        detail = json.loads(path.read_bytes())
        proposal_path = corpus / "proposal" / path.name
        row = (json.loads(proposal_path.read_bytes()).get("csv") or {}) if proposal_path.exists() else {}
        bill_no = path.stem
        bills.append(
            (bill_no, row.get("term"), detail.get("議案名稱"), detail.get("議案狀態"), str(path), "", "", "")
        )
        for seq, entry in enumerate(detail.get("議案流程") or [], start=1):
            dates = entry.get("日期") or []
            on = dates[0][-1] if dates and isinstance(dates[0], list) else (dates[0] if dates else "")
            stages.append(
                (bill_no, seq, entry.get("狀態"), entry.get("狀態"), on, entry.get("院會/委員會"), str(path))
            )
    with conn:
        conn.executemany("INSERT OR REPLACE INTO bills VALUES (?, ?, ?, ?, ?, ?, ?, ?)", bills)
        conn.executemany("INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?, ?)", stages)
    conn.close()
    return {"wall": time.perf_counter() - start, "bills": len(bills), "stages": len(stages)}


def child(kind: str, corpus: Path, db_path: Path) -> dict[str, Any]:
    """Run one loop in a fresh interpreter, so its peak RSS is its own (start-up included)."""
    cmd = [sys.executable, __file__, "--child", kind, "--corpus", str(corpus), "--db", str(db_path)]
    result = measured(cmd)
    return result | json.loads(result["output"].strip().splitlines()[-1])


def line(label: str, r: dict[str, Any]) -> str:
    rate = r["bills"] / r["wall"]
    mem = f"{r['rss_max_mb']:.0f} MB / {r['rss_tree_mb']:.0f} MB"
    cells = [label, f"{r['bills']:,}", f"{r['stages']:,}", f"{r['wall']:.1f} s", f"{r['cpu']:.1f} s"]
    return "| " + " | ".join(cells + [f"{rate:,.0f}", mem]) + " |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(CORPUS), help="a folder laid out like ly-term9")
    parser.add_argument("--no-all", action="store_true", help="skip the all-spiders crawl")
    parser.add_argument("--child", choices=["bare", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    corpus = Path(args.corpus)
    if args.child:
        run = bare if args.child == "bare" else floor
        print(json.dumps(run(corpus, Path(args.db))))
        return
    if not (corpus / "bill-detail").is_dir():
        print(f"bench_corpus: no corpus at {corpus}; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows = {
            "bills spider (`crawl tw_ly_bills --replay --corpus`)": engine(
                Path(tmp) / "bills.db", corpus, ["tw_ly_bills"]
            )
        }
        if not args.no_all:
            rows["every spider + reconcile (`crawl --replay --corpus`)"] = engine(
                Path(tmp) / "all.db", corpus, []
            )
        rows["bare loop: json.loads + derive_bill + normalise_bill + sqlite3"] = child(
            "bare", corpus, Path(tmp) / "bare.db"
        )
        rows["floor: json.loads + raw 議案流程 rows + sqlite3"] = child(
            "floor", corpus, Path(tmp) / "floor.db"
        )
    print(f"corpus {corpus} ({date.today()}, {platform.python_version()}, {os.cpu_count()} cores)")
    print("| run | bills | stages | wall | CPU | bills/s | peak RSS (largest process / tree) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in rows.items():
        print(line(label, r))
    spider = rows["bills spider (`crawl tw_ly_bills --replay --corpus`)"]
    loop = rows["bare loop: json.loads + derive_bill + normalise_bill + sqlite3"]
    print(f"ratio: the bills spider takes {spider['wall'] / loop['wall']:.1f}x the bare loop's wall time")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
