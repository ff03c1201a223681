"""Benchmark (not a test): database size per real bill, the 9th-term corpus crawled as a user would.

Why: issue 12 asks for at most 15 KB per bill on the ly-term9 corpus (38 KB before it: three
trigram indexes over mostly the same text). This runs `billtracker crawl --replay SAMPLES --corpus
CORPUS` (every spider, reconcile, ~1.5 min for 3,639 bills) into a fresh file and prints its size
per bill as the crawl leaves it (the live database), after a plain VACUUM INTO, and as `billtracker
publish` ships it (VACUUM INTO, then compacted: billtracker/serve/snapshot.py), with the largest
tables and indexes of the published copy (SQLite's dbstat). The target is for the published copy.

Baseline in the same run: `--baseline REV` crawls the same corpus with the code of a git revision
(`git archive REV`, run from its own directory) into a second file and prints the same figures.

    .venv/bin/python bench/bench_size.py                     # this code only
    .venv/bin/python bench/bench_size.py --baseline main     # and main's, same run
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from billtracker.cli.publish import publish_snapshot  # noqa: E402

SHARED = REPO.parent / "shared"
TARGET_KB = 15.0
SHOWN = 12  # largest tables and indexes listed


def crawl(code: Path, db: Path, samples: Path, corpus: Path) -> float:
    """`billtracker crawl --replay` with the code in `code`; returns the wall time."""
    env = {**os.environ, "PYTHONPATH": str(code), "BILLTRACKER_SAMPLES": str(samples)}
    cmd = [sys.executable, "-m", "billtracker.cli", "crawl", "--replay", str(samples)]
    cmd += ["--corpus", str(corpus), "--db", str(db)]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"crawl with {code} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def sizes(db: Path) -> tuple[int, int, dict[str, int]]:
    """(bills, bytes of the file, bytes per table or index from dbstat)."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        bills = conn.execute("select count(*) from bills").fetchone()[0]
        per = dict(conn.execute("select name, sum(pgsize) from dbstat group by name"))
    finally:
        conn.close()
    return bills, db.stat().st_size, per


def vacuumed(db: Path) -> Path:
    out = db.with_name(db.stem + "-vacuumed.db")
    out.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("VACUUM INTO ?", [str(out)])
    conn.close()
    return out


def published(db: Path) -> Path:
    """What `billtracker publish` ships (billtracker/serve/snapshot.py, this code's)."""
    out = db.with_name(db.stem + "-published.db")
    out.unlink(missing_ok=True)
    publish_snapshot(db, out)
    return out


def fts_bytes(per: dict[str, int]) -> int:
    """Full-text index storage: every FTS5 shadow table (_data, _idx, _docsize, _config)."""
    return sum(
        v for k, v in per.items() if k.endswith(("_fts_data", "_fts_idx", "_fts_docsize", "_fts_config"))
    )


def report(label: str, db: Path, wall: float) -> float:
    bills, size, per = sizes(db)
    vac_bills, vac_size, vac_per = sizes(vacuumed(db))
    pub_bills, pub_size, pub_per = sizes(published(db))
    assert vac_bills == bills == pub_bills
    kb, vac_kb, pub_kb = size / bills / 1024, vac_size / bills / 1024, pub_size / bills / 1024
    print(f"\n{label}: {bills:,} bills, crawl {wall:.0f} s")
    print(
        f"  as crawled   {size / 1e6:7.1f} MB  {kb:5.1f} KB/bill"
        f"  (full-text indexes {fts_bytes(per) / 1e6:.1f} MB)"
    )
    print(
        f"  after VACUUM {vac_size / 1e6:7.1f} MB  {vac_kb:5.1f} KB/bill"
        f"  (full-text indexes {fts_bytes(vac_per) / 1e6:.1f} MB)"
    )
    print(
        f"  as published {pub_size / 1e6:7.1f} MB  {pub_kb:5.1f} KB/bill"
        f"  (full-text indexes {fts_bytes(pub_per) / 1e6:.1f} MB)"
    )
    print("  largest, as published:")
    for name, n in sorted(pub_per.items(), key=lambda kv: -kv[1])[:SHOWN]:
        print(f"    {name:36} {n / 1e6:6.2f} MB {n / bills:7.0f} B/bill")
    return pub_kb


def archive(rev: str, into: Path) -> Path:
    """The code of git revision `rev`, unpacked (no checkout: the worktree is left alone)."""
    data = subprocess.run(["git", "archive", rev], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=SHARED / "samples")
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus" / "ly-term9")
    parser.add_argument("--baseline", metavar="REV", help="also crawl with this git revision's code")
    parser.add_argument("--keep", type=Path, help="leave the databases in this directory")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = args.keep or Path(tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        before = None
        if args.baseline:
            code = archive(args.baseline, Path(tmp_name) / "baseline-code")
            db = tmp / "baseline.db"
            before = report(f"baseline ({args.baseline})", db, crawl(code, db, args.samples, args.corpus))
        db = tmp / "billtracker.db"
        after = report("this code", db, crawl(REPO, db, args.samples, args.corpus))
    verdict = "met" if after <= TARGET_KB else "NOT met"
    line = f"\ntarget <= {TARGET_KB:.0f} KB/bill as published: {verdict} ({after:.1f} KB"
    print(line + (f"; baseline {before:.1f} KB)" if before is not None else ")"))


if __name__ == "__main__":
    main()
