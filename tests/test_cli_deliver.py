"""`billtracker deliver` as an operator runs it: a deliverer killed with -9 mid-run loses no
event and, restarted, re-sends none the receiver acknowledged and it recorded; two deliverers
never run at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from billtracker.alerts.webhooks import connect, delivery_lock
from billtracker.cli import cli
from billtracker.paths import REPO_ROOT
from pipelines.rawsql import select
from tests.alerts_helpers import ENV, HOOK_KEY, Receiver, add_changes, make_db, write_config


@pytest.mark.faults
def test_a_deliverer_killed_mid_run_loses_nothing_and_resends_nothing_recorded(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    with Receiver() as receiver:
        config = write_config(tmp_path / "s.toml", [("n", "cio", receiver.url)])
        args = ["deliver", "--db", str(db_path), "--config", str(config)]
        assert CliRunner().invoke(cli, args, env={ENV: HOOK_KEY}).exit_code == 0
        add_changes(db_path, 2000)
        cmd = [sys.executable, "-m", "billtracker.cli", *args]
        env = {**os.environ, ENV: HOOK_KEY}
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL)
        while len(receiver.received) < 300:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = connect(db_path)
        recorded = {
            r["event_id"] for r in select(conn, "select event_id from deliveries where status = 'delivered'")
        }
        conn.close()
        assert 0 < len(recorded) < 2000
        before = len(receiver.received)
        result = CliRunner().invoke(cli, args, env={ENV: HOOK_KEY})
        assert result.exit_code == 0, result.output
        assert "pending=0" in result.output
    resent = [r["event_id"] for r in receiver.received[before:]]
    assert not recorded & set(resent)  # an acknowledgment on record is never sent again
    assert len(receiver.received) - 2000 <= 1  # at most the one in flight when it died
    conn = connect(db_path)
    expected = [r["event_id"] for r in select(conn, "select event_id from deliveries order by id")]
    conn.close()
    assert list(dict.fromkeys(receiver.acked())) == expected  # every event, in order


def test_one_deliverer_at_a_time(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    config = write_config(tmp_path / "s.toml", [])
    with delivery_lock(db_path):
        result = CliRunner().invoke(cli, ["deliver", "--db", str(db_path), "--config", str(config)])
    assert result.exit_code == 1 and "another deliverer holds" in result.output
