"""Webhooks with real parts: a real HTTP receiver on 127.0.0.1 verifying every signature, one that
answers 500, one that times out, one killed with -9 mid-run, and a flood of 10,000 changes
delivered in order while a crawl keeps writing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from billtracker.alerts.webhooks import Policy, connect, deliver, event_id, queue_events
from billtracker.paths import REPO_ROOT
from pipelines.rawsql import select
from tests.alerts_helpers import ENV, HOOK_KEY, Receiver, add_changes, free_port, make_db, write_config

SECRETS = {ENV: HOOK_KEY}
FAST = Policy(timeout_seconds=0.5, backoff_seconds=0.05, max_backoff_seconds=0.2)


def rows(db_path: Path) -> list[dict]:
    conn = connect(db_path)
    try:
        return select(conn, "select * from deliveries order by id")
    finally:
        conn.close()


def until_delivered(db_path: Path, config: Path, passes: int = 100) -> int:
    """Delivery passes (as the scheduler runs them) until nothing is pending; returns how many."""
    for n in range(1, passes + 1):
        if deliver(db_path, config, FAST, SECRETS)["pending"] == 0:
            return n
        time.sleep(0.05)
    raise AssertionError("still pending")


def test_signed_events_carry_the_change_and_the_evidence_as_stored(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    with Receiver() as receiver:
        config = write_config(tmp_path / "s.toml", [("newsroom", "cio", receiver.url)])
        assert deliver(db_path, config, FAST, SECRETS)["queued"] == 0  # subscribed now: no history
        ids = add_changes(db_path, 3) + add_changes(db_path, 2, watch="org")  # org: not subscribed
        counts = deliver(db_path, config, FAST, SECRETS)
        assert counts == {"queued": 3, "delivered": 3, "failed": 0, "pending": 0}
    assert receiver.bad_signatures == 0
    assert [r["body"]["change"]["id"] for r in receiver.received] == ids[:3]
    event = receiver.received[0]["body"]
    assert event["event_id"] == receiver.received[0]["event_id"]
    assert event["bill"]["current_stage"] == "committee-review"
    assert event["bill"]["current_stage_evidence"] == "議案流程 2016-10-13 委員會審查 (LYAPI)"
    assert event["bill"]["current_stage_caveat"] == "資料截至 2016-12-01；此後未知"
    assert event["stage"]["evidence"] == "議案流程 #3" and event["stage"]["evidence_kind"] == "flow"
    assert event["change"]["kind_label"] == "新進度" and event["watch"]["title"] == "watch cio"
    assert all(r["status"] == "delivered" and r["attempts"] == 1 for r in rows(db_path))


def test_a_wrong_secret_is_refused_and_retried_not_dropped(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    with Receiver() as receiver:
        config = write_config(tmp_path / "s.toml", [("newsroom", "cio", receiver.url)])
        deliver(db_path, config, FAST, SECRETS)
        add_changes(db_path, 1)
        assert deliver(db_path, config, FAST, {ENV: "not-the-key"})["pending"] == 1
        assert receiver.bad_signatures == 1
        assert rows(db_path)[0]["last_status"] == 401
        time.sleep(0.3)  # past the backoff
        assert deliver(db_path, config, FAST, {})["pending"] == 1  # no secret: nothing sent
        assert "secret not set" in rows(db_path)[0]["last_error"]
        until_delivered(db_path, config)
        assert receiver.acked() == [rows(db_path)[0]["event_id"]]


def test_event_ids_are_stable_and_queueing_is_idempotent(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    config = write_config(tmp_path / "s.toml", [("a", "cio", "http://127.0.0.1:9/hook")])
    deliver(db_path, config, FAST, {})
    add_changes(db_path, 4)
    conn = connect(db_path)
    try:
        assert queue_events(conn) == 4
        conn.execute("update subscriptions set derived_through = 0")  # as if the cursor never moved
        assert queue_events(conn) == 0
        change = select(conn, "select * from changes order by id limit 1")[0]
    finally:
        conn.close()
    first = rows(db_path)[0]
    assert first["event_id"] == event_id(change, "cio") == event_id(dict(change), "cio")
    assert json.loads(first["body"])["event_id"] == first["event_id"]


def test_a_failing_then_a_timing_out_receiver_gets_every_event_once_in_order(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    with Receiver(fail=3) as failing, Receiver(slow=2, delay=1.0) as slow:
        config = write_config(tmp_path / "s.toml", [("f", "cio", failing.url), ("s", "org", slow.url)])
        deliver(db_path, config, FAST, SECRETS)
        add_changes(db_path, 5, watch="cio")
        add_changes(db_path, 5, watch="org")
        until_delivered(db_path, config)
    by_sub = {s: [r for r in rows(db_path) if r["subscription"] == s] for s in ("f", "s")}
    for sub in ("f", "s"):
        assert all(r["status"] == "delivered" for r in by_sub[sub])
    # every event acknowledged once, in change order
    assert failing.acked() == [r["event_id"] for r in by_sub["f"]]
    # the slow one answered 200 to attempts the sender had given up on: deduplicated by id, the
    # same events in the same order
    assert list(dict.fromkeys(slow.acked())) == [r["event_id"] for r in by_sub["s"]]
    assert [r["status"] for r in failing.received[:4]] == [500, 500, 500, 200]
    assert by_sub["f"][0]["attempts"] == 4 and by_sub["f"][0]["last_error"] == "HTTP 500"
    assert "timed out" in by_sub["s"][0]["last_error"]
    # the timed-out attempts did reach the receiver: those are the duplicates it deduplicates by id
    assert len({r["event_id"] for r in slow.received}) == 5 < len(slow.received)


@pytest.mark.faults
def test_a_receiver_killed_mid_run_gets_every_event_once_after_recovery(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    port, log = free_port(), tmp_path / "received.log"
    config = write_config(tmp_path / "s.toml", [("n", "cio", f"http://127.0.0.1:{port}/hook")])
    deliver(db_path, config, FAST, SECRETS)
    ids = add_changes(db_path, 300)
    cmd = [sys.executable, "-m", "tests.alerts_helpers", str(port), str(log)]
    receiver = subprocess.Popen(cmd, cwd=REPO_ROOT)
    try:
        time.sleep(0.5)
        worker = threading.Thread(target=deliver, args=(db_path, config, FAST, SECRETS))
        worker.start()
        while not log.exists() or len(log.read_text().splitlines()) < 50:
            time.sleep(0.01)
        receiver.send_signal(signal.SIGKILL)
        receiver.wait()
        worker.join()
        assert 0 < sum(r["status"] == "pending" for r in rows(db_path)) < 300
        receiver = subprocess.Popen(cmd, cwd=REPO_ROOT)
        time.sleep(0.5)
        until_delivered(db_path, config)
    finally:
        receiver.kill()
        receiver.wait()
    logged = [line.split() for line in log.read_text().splitlines()]
    assert [int(change) for _, change in logged] == ids  # each once, in order
    assert {e for e, _ in logged} == {r["event_id"] for r in rows(db_path)}


def test_a_flood_of_10000_is_delivered_in_order_without_blocking_a_crawl(tmp_path: Path) -> None:
    """The deliverer is its own process (`billtracker deliver`); meanwhile this process writes
    changes as a crawl does, and no write waits for the deliveries."""
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    with Receiver() as a, Receiver() as b:
        config = write_config(tmp_path / "s.toml", [("a", "cio", a.url), ("b", "org", b.url)])
        deliver(db_path, config, FAST, SECRETS)
        add_changes(db_path, 5000, watch="cio")
        add_changes(db_path, 5000, watch="org", start=5000)
        env = {**os.environ, ENV: HOOK_KEY}
        cmd = [
            sys.executable,
            "-m",
            "billtracker.cli",
            "deliver",
            "--db",
            str(db_path),
            "--config",
            str(config),
        ]
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True)
        waits = []
        while proc.poll() is None:
            started = time.perf_counter()
            add_changes(db_path, 10, watch="neither")  # a crawl's transaction
            waits.append(time.perf_counter() - started)
            time.sleep(0.05)
        out = proc.stdout.read() if proc.stdout else ""
        assert proc.returncode == 0, out
        assert "queued=10000 delivered=10000 failed=0 pending=0" in out
    assert a.bad_signatures == b.bad_signatures == 0
    for receiver, sub in ((a, "a"), (b, "b")):
        expected = [r["event_id"] for r in rows(db_path) if r["subscription"] == sub]
        assert receiver.acked() == expected and len(expected) == 5000
    assert waits and max(waits) < 1.0, f"a crawl's write waited {max(waits):.3f} s"


@pytest.mark.parametrize("table", ["subscriptions", "deliveries", "digest_sends", "unsubscribes"])
def test_the_outbox_and_the_subscriptions_are_not_served(tmp_path: Path, table: str) -> None:
    from datasette.app import Datasette

    from billtracker.paths import METADATA

    db_path = tmp_path / "billtracker.db"
    make_db(db_path).close()
    metadata = json.loads(METADATA.read_text(encoding="utf-8"))
    ds = Datasette([str(db_path)], metadata=metadata)

    async def fetch() -> tuple[int, int, str]:
        page = await ds.client.get(f"/billtracker/{table}.json")
        rows_page = await ds.client.get(f"/billtracker/{table}/1.json")
        listing = await ds.client.get("/billtracker.json")
        return page.status_code, rows_page.status_code, listing.text

    import asyncio

    status, row_status, listing = asyncio.run(fetch())
    assert status == 403 and row_status == 403
    assert f'"{table}"' not in listing


@pytest.mark.slow
def test_a_real_crawl_s_changes_reach_the_receiver_with_the_stored_evidence(
    tmp_path: Path, samples_dir: Path
) -> None:
    """The samples with the CIO bill's last 議案流程 entry removed, crawled; a newsroom subscribes
    to the bill's watch; the samples as they are, crawled again: the new stage reaches it, with
    the bill's current stage, evidence and caveat exactly as the crawl stored them."""
    from billtracker.replay import ReplayServer
    from billtracker.replay.snapshots import rewind
    from tests.conftest import run_crawl

    db_path = tmp_path / "billtracker.db"
    bill_no = "1051006070201100"
    with ReplayServer(samples_dir=samples_dir) as server, Receiver() as receiver:
        snapshot_b = server.data
        server.data, _ = rewind(snapshot_b, [bill_no])
        assert run_crawl(db_path, server.base_url).returncode == 0
        config = write_config(tmp_path / "s.toml", [("newsroom", "cio-bill", receiver.url)])
        assert deliver(db_path, config, FAST, SECRETS)["queued"] == 0
        server.data = snapshot_b
        time.sleep(1.1)  # detected_at has second resolution
        assert run_crawl(db_path, server.base_url).returncode == 0
        counts = deliver(db_path, config, FAST, SECRETS)
    assert counts["queued"] > 0 and counts["pending"] == 0 and receiver.bad_signatures == 0
    conn = connect(db_path)
    try:
        bill = select(conn, "select * from bills where bill_no = ?", [bill_no])[0]
        stored = select(
            conn,
            "select c.id from changes c join change_watches w on w.change_id = c.id"
            " where w.watch = 'cio-bill'"
            " and c.id > (select since_change_id from subscriptions where name = 'newsroom')"
            " order by c.id",
        )
    finally:
        conn.close()
    events = [r["body"] for r in receiver.received]
    assert [e["change"]["id"] for e in events] == [r["id"] for r in stored]
    assert "stage-added" in {e["change"]["kind"] for e in events}
    for event in events:
        assert event["bill"]["current_stage"] == bill["current_stage"]
        assert event["bill"]["current_stage_evidence"] == bill["current_stage_evidence"]
        assert event["bill"]["current_stage_caveat"] == bill["current_stage_caveat"]
        assert event["change"]["bill_no"] == bill_no
