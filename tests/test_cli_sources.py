"""`billtracker record` against the local replay (no network) and `billtracker reconcile`."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from billtracker.cli import cli
from billtracker.cli.sources import recorded_path
from billtracker.replay import ReplayServer
from billtracker.replay.sources import PPG_FIXTURES
from tests.conftest import TODAY

FIXTURE = PPG_FIXTURES / "1051006070201100_details.html"


def test_recorded_path_mirrors_the_url(tmp_path: Path) -> None:
    url = "https://ppg.ly.gov.tw/ppg/api/v1/all-bills?term=09&page=1&size=50"
    assert (
        recorded_path(tmp_path, url)
        == tmp_path / "ppg.ly.gov.tw" / "ppg/api/v1/all-bills__term=09&page=1&size=50"
    )


def test_record_saves_body_and_sidecar(tmp_path: Path, replay: ReplayServer) -> None:
    url = f"{replay.base_url}/ppg/bills/1051006070201100/details"
    result = CliRunner().invoke(cli, ["record", url, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    body = recorded_path(tmp_path, url)
    assert body.read_bytes() == FIXTURE.read_bytes()
    meta = json.loads(body.with_name(body.name + ".meta.json").read_text(encoding="utf-8"))
    assert (meta["url"], meta["status"], meta["encoding"]) == (url, 200, "utf-8")
    assert meta["headers"]["Content-Type"].startswith("text/html")
    assert meta["content_sha256"] == hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
    assert meta["fetched_at"].endswith("Z") and meta["bytes"] == len(FIXTURE.read_bytes())
    assert "HTTP 200" in result.output


def test_record_keeps_an_error_response(tmp_path: Path, replay: ReplayServer) -> None:
    url = f"{replay.base_url}/kong0107/lis.ly/json/99999.json"
    result = CliRunner().invoke(cli, ["record", url, "--out", str(tmp_path)])
    assert result.exit_code == 0
    body = recorded_path(tmp_path, url)
    assert json.loads(body.with_name(body.name + ".meta.json").read_text())["status"] == 404


def test_record_unreachable_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["record", "http://127.0.0.1:9/x", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "could not fetch http://127.0.0.1:9/x" in result.output


@pytest.mark.slow
def test_reconcile_command(tmp_path: Path, crawled_db: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(crawled_db, db)
    result = CliRunner().invoke(cli, ["reconcile", "--db", str(db), "--today", TODAY])
    assert result.exit_code == 0, result.output
    assert "merged links" in result.output
    missing = CliRunner().invoke(cli, ["reconcile", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1 and "no database at" in missing.output
