"""The schedule for real: the scheduler built from the TOML config (triggers and next run times
with a frozen clock), the job function run against the replay (retry, backoff, flag), and
`billtracker up` started as a subprocess serving Datasette while its scheduler crawls."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

from billtracker.cli import cli
from billtracker.jobs.run import Job, RetryPolicy, run_job
from billtracker.jobs.schedule import BadConfig, build_scheduler, load_config
from billtracker.jobs.spider_process import replay_settings
from billtracker.jobs.spiders import replay_queries
from billtracker.paths import REPO_ROOT
from billtracker.replay import ReplayServer

TAIPEI = ZoneInfo("Asia/Taipei")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TAIPEI)


@pytest.fixture(scope="module")
def jobs() -> dict:
    """The default config's jobs as a started-but-paused scheduler holds them."""
    scheduler = build_scheduler(load_config(), "unused.db", {}, BackgroundScheduler())
    scheduler.start(paused=True)
    try:
        yield {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def test_default_jobs(jobs: dict) -> None:
    assert set(jobs) == {
        "incremental",
        "nightly-full",
        "nightly-laws",
        "nightly-ppg",
        "nightly-opendata",
        "weekly-lis",
        "weekly-legislators",
        "deliver",
        "digest",
    }
    assert jobs["deliver"].executor == jobs["digest"].executor == "deliveries"
    for job in jobs.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 900)
        assert str(job.trigger.timezone) == "Asia/Taipei"
    assert jobs["incremental"].args[0].mode == "incremental"
    assert jobs["nightly-full"].args[0].mode == "full"


@pytest.mark.parametrize(
    ("job", "now", "expected"),
    [
        ("incremental", "2026-11-27 06:59", "2026-11-27 07:00"),  # Friday morning
        ("incremental", "2026-11-25 12:10", "2026-11-25 12:30"),  # Wednesday, every 30 min
        ("incremental", "2026-11-27 21:31", "2026-11-30 07:00"),  # after 21:30 Friday -> Monday
        ("incremental", "2026-11-28 12:00", "2026-11-30 07:00"),  # Saturday: no sitting
        ("nightly-full", "2026-11-28 03:00", "2026-11-29 02:30"),  # every night, weekends too
        ("nightly-laws", "2026-11-28 03:00", "2026-11-28 03:30"),
        ("weekly-lis", "2026-11-26 12:00", "2026-11-29 05:00"),  # Thursday -> Sunday
    ],
)
def test_next_run_times_with_frozen_clock(jobs: dict, job: str, now: str, expected: str) -> None:
    assert jobs[job].trigger.get_next_fire_time(None, at(now)) == at(expected)


def test_every_spider_is_scheduled(jobs: dict) -> None:
    """A source nobody schedules goes stale silently: every spider has a job."""
    from billtracker.jobs.spiders import SPIDERS

    assert {job.args[0].spider for job in jobs.values() if job.id not in {"deliver", "digest"}} == set(
        SPIDERS
    )


def test_one_worker_one_crawl_at_a_time() -> None:
    scheduler = build_scheduler(load_config(), "unused.db", {}, BackgroundScheduler())
    assert scheduler._executors["default"]._pool._max_workers == 1
    assert scheduler._executors["deliveries"]._pool._max_workers == 1


def test_bad_config_names_file_and_entry(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[jobs]]\nid = "x"\ncron = { hour = "2", minite = "0" }\n', encoding="utf-8")
    with pytest.raises(BadConfig, match=r"bad\.toml: jobs #1 \(x\): unknown cron field\(s\) \['minite'\]"):
        load_config(bad)
    bad.write_text('[[jobs]]\nid = "x"\nmode = "sometimes"\ncron = { hour = "2" }\n', encoding="utf-8")
    with pytest.raises(BadConfig, match="mode must be full or incremental"):
        load_config(bad)
    result = CliRunner().invoke(cli, ["schedule", "--config", str(tmp_path / "none.toml"), "--list"])
    assert result.exit_code == 1 and "schedule config not found" in result.output


def test_schedule_list() -> None:
    result = CliRunner().invoke(cli, ["schedule", "--list"])
    assert result.exit_code == 0, result.output
    assert "incremental\ttw_ly_bills (incremental)\tcron[day_of_week='mon-fri'" in result.output


def block_lists(path_qs: str):  # noqa: ANN201 - an overlay: every bill list is a block page
    if path_qs.startswith("/v2/bills?"):
        return 200, b"<html><body>Access denied</body></html>", {"Content-Type": "text/html"}
    return None


@pytest.mark.slow
def test_empty_run_is_retried_with_backoff_then_flagged(samples_dir: Path, tmp_path: Path) -> None:
    db_path = tmp_path / "billtracker.db"
    sleeps: list[float] = []
    with ReplayServer(samples_dir=samples_dir, overlay=block_lists) as server:
        job = Job("incremental", mode="full", queries=replay_queries())
        retry = RetryPolicy(attempts=2, backoff_seconds=7, max_backoff_seconds=10)
        last = run_job(job, db_path, replay_settings(server.base_url), retry, sleep=sleeps.append)
    assert sleeps == [7]
    db = sqlite_utils.Database(db_path)
    runs = list(db["scrape_runs"].rows_where(order_by="id"))
    assert [(r["attempt"], r["status"], r["flagged"], r["exit_code"]) for r in runs] == [
        (1, "empty", 0, 0),
        (2, "empty", 1, 0),
    ]
    assert last["id"] == runs[-1]["id"] and "without a single data item" in last["error"]
    assert runs[0]["problems"] >= 2  # both block pages became problems rows
    assert db["problems"].count_where("kind = 'block-page'") >= 2
    from tests.test_e2e_history import rows

    (health,) = rows(db_path, "health")
    assert (
        health["last_ok_at"],
        health["stale"],
        health["failures_since_ok"],
        health["flagged_since_ok"],
    ) == (
        None,
        1,
        2,
        1,
    )


@pytest.mark.slow
def test_crawl_that_never_starts_is_failed(tmp_path: Path) -> None:
    db_path = tmp_path / "billtracker.db"
    last = run_job(Job("broken", spider="no_such_spider"), db_path, {}, RetryPolicy(attempts=1))
    assert (last["status"], last["flagged"]) == ("failed", 1)
    assert last["exit_code"] != 0 and "before the spider closed" in last["error"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_up_serves_and_crawls(samples_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        'timezone = "Asia/Taipei"\n[retry]\nattempts = 1\n'
        '[[jobs]]\nid = "first"\nmode = "full"\nrun_at_start = true\n',
        encoding="utf-8",
    )
    port = free_port()
    db_path = tmp_path / "billtracker.db"
    log = (tmp_path / "up.log").open("w")
    cmd = [sys.executable, "-m", "billtracker.cli", "up", "--db", str(db_path), "--port", str(port)]
    cmd += ["--config", str(config), "--replay", str(samples_dir)]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/billtracker"
    try:
        deadline = time.monotonic() + 90
        health: list = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            try:
                health = get_json(f"{base}/health.json?_shape=array")  # type: ignore[assignment]
            except OSError:
                health = []
            if health and health[0]["last_status"] == "ok":
                break
            time.sleep(0.5)
        assert health and health[0]["last_status"] == "ok", (tmp_path / "up.log").read_text()[-3000:]
        bills = get_json(f"{base}/bills.json?_shape=array&_size=max")
        assert len(bills) == 28  # type: ignore[arg-type]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        with pytest.raises(OSError):
            get_json(f"{base}/health.json")  # Datasette went down with it
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
