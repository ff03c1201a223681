"""`billtracker export DIR`: JSONL and CSV per table, a VACUUM INTO snapshot, a manifest whose
row counts and checksums match the files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from billtracker.cli import cli


@pytest.mark.slow
def test_export(history_crawl: dict, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = CliRunner().invoke(cli, ["export", str(out), "--db", str(history_crawl["db"])])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    live = sqlite_utils.Database(history_crawl["db"])
    tables = manifest["tables"]
    assert {"bills", "stages", "changes", "bill_versions", "scrape_runs", "watches"} <= set(tables)
    assert not any("_fts" in t for t in tables)  # the FTS index is rebuilt, not data
    for table, count in tables.items():
        assert count == live[table].count, table
        jsonl = (out / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(jsonl) == count
        with (out / f"{table}.csv").open(encoding="utf-8", newline="") as f:
            assert len(list(csv.DictReader(f))) == count
    for name, info in manifest["files"].items():
        data = (out / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == info["sha256"] and len(data) == info["bytes"], name
    snapshot = sqlite_utils.Database(out / "billtracker.sqlite")
    assert {t: snapshot[t].count for t in tables} == tables
    assert "資訊長" in snapshot["bills"].get("1051006070201100")["reason"]  # Chinese stays Chinese
    first = json.loads((out / "bills.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {c.name for c in live["bills"].columns}


def test_export_needs_a_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "out"), "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no database at" in result.output
