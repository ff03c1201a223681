"""Benchmark (not a test): webhook delivery latency, from a change committed to the database to
its POST arriving at a receiver, and throughput.

Two measures, each with a real receiver on 127.0.0.1 (http.server, verifying every signature)
and `billtracker deliver --loop` as its own process, as the scheduler would run it:
- latency: a writer commits one matched change every `--interval` s (a crawl storing changes);
  the deliverer polls every `--poll` s. Latency = arrival at the receiver - the commit's return.
- flood: `--flood` matched changes stored at once, then one `billtracker deliver` pass;
  throughput = events delivered / seconds of the pass.

    .venv/bin/python bench/bench_deliver.py
    .venv/bin/python bench/bench_deliver.py --changes 500 --poll 0.5 --flood 10000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.alerts_helpers import ENV, HOOK_KEY, Receiver, add_changes, make_db, write_config  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def deliver_cmd(db: Path, config: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "billtracker.cli",
        "deliver",
        "--db",
        str(db),
        "--config",
        str(config),
        *extra,
    ]


def bench_latency(tmp: Path, changes: int, interval: float, poll: float) -> dict[str, float]:
    db = tmp / "latency.db"
    make_db(db).close()
    env = {**os.environ, ENV: HOOK_KEY}
    with Receiver() as receiver:
        config = write_config(tmp / "latency.toml", [("bench", "cio", receiver.url)])
        subprocess.run(deliver_cmd(db, config), cwd=REPO, env=env, check=True, capture_output=True)
        proc = subprocess.Popen(
            deliver_cmd(db, config, "--loop", str(poll)), cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        committed: dict[int, float] = {}
        try:
            assert proc.stdout is not None
            proc.stdout.readline()  # its first pass is done: the deliverer is up, as in production
            for i in range(changes):
                (change_id,) = add_changes(db, 1, start=i)
                committed[change_id] = time.time()
                time.sleep(interval)
            deadline = time.time() + 30
            while len(receiver.acked()) < changes and time.time() < deadline:
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait()
        assert receiver.bad_signatures == 0
        lat = [
            r["at"] - committed[r["body"]["change"]["id"]] for r in receiver.received if r["status"] == 200
        ]
    return {"n": len(lat), "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000}


def bench_flood(tmp: Path, flood: int) -> dict[str, float]:
    db = tmp / "flood.db"
    make_db(db).close()
    env = {**os.environ, ENV: HOOK_KEY}
    with Receiver() as receiver:
        config = write_config(tmp / "flood.toml", [("bench", "cio", receiver.url)])
        subprocess.run(deliver_cmd(db, config), cwd=REPO, env=env, check=True, capture_output=True)
        add_changes(db, flood)
        started = time.perf_counter()
        subprocess.run(deliver_cmd(db, config), cwd=REPO, env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        ids = [r["body"]["change"]["id"] for r in receiver.received if r["status"] == 200]
    assert len(ids) == flood and ids == sorted(ids), "not every event, or not in order"
    return {"n": flood, "seconds": seconds, "per_second": flood / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between changes")
    parser.add_argument("--poll", type=float, default=0.2, help="deliver --loop SECONDS")
    parser.add_argument("--flood", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lat = bench_latency(Path(tmp), args.changes, args.interval, args.poll)
        print(
            f"latency: {lat['n']} changes, one every {args.interval:g} s, deliver --loop {args.poll:g}:"
            f" p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms (commit -> POST at the receiver)"
        )
        flood = bench_flood(Path(tmp), args.flood)
        print(
            f"flood: {flood['n']} events in {flood['seconds']:.1f} s = {flood['per_second']:.0f} events/s"
            " (one target, one pass of billtracker deliver, process start and queueing included)"
        )


if __name__ == "__main__":
    main()
