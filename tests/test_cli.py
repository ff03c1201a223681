"""The CLI's own behaviour: clear one-line errors, not tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from billtracker.cli import cli
from billtracker.cli.options import parse_query


def test_unknown_spider_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["crawl", "no_such_spider", "--db", "x.db"])
    assert result.exit_code == 2
    assert "unknown spider(s): no_such_spider" in result.output


def test_missing_samples_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(cli, ["crawl", "--replay", str(missing), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert str(missing) in result.output
    assert "Traceback" not in result.output


def test_serve_without_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "run `billtracker crawl" in result.output


def test_parse_query() -> None:
    assert parse_query("屆=9&議案類別=法律案") == {"屆": "9", "議案類別": "法律案"}


def test_bad_query() -> None:
    result = CliRunner().invoke(cli, ["crawl", "--query", "屆9", "--db", "x.db"])
    assert result.exit_code == 2
    assert "expected FIELD=VALUE" in result.output


@pytest.mark.slow
def test_crawl_that_finds_nothing_fails_loudly_and_is_recorded(tmp_path: Path, samples_dir: Path) -> None:
    """The replay holds no 8th-term bill: a full crawl that stores nothing is `empty`, and the
    command says so and exits non-zero, as a scheduled job would be flagged."""
    import sqlite_utils

    db_path = tmp_path / "empty.db"
    result = CliRunner().invoke(
        cli,
        ["crawl", "tw_ly_bills", "--replay", str(samples_dir), "--query", "屆=8", "--db", str(db_path)],
    )
    assert result.exit_code == 1
    assert "crawl failed: tw_ly_bills (empty" in result.output
    [run] = sqlite_utils.Database(db_path)["scrape_runs"].rows
    assert (run["spider"], run["status"], run["exit_code"]) == ("tw_ly_bills", "empty", 0)
