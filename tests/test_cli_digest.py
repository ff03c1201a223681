"""`billtracker digest` as the operator runs it, against a real SMTP server: it sends, says what
it did, and a second run the same day sends nothing, nor to an address that unsubscribed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from billtracker.alerts.unsubscribe import address_key
from billtracker.cli import cli
from tests.alerts_helpers import Inbox, add_changes, free_port, make_db


def digest_config(tmp_path: Path, port: int, to: list[str], head: str = "") -> Path:
    """digests.toml with one daily digest "d" of watch "cio", sent through 127.0.0.1:port."""
    config = tmp_path / "d.toml"
    config.write_text(
        f'{head}[smtp]\nhost = "127.0.0.1"\nport = {port}\n\n'
        f'[[digest]]\nname = "d"\nwatch = "cio"\nto = {json.dumps(to)}\n',
        encoding="utf-8",
    )
    return config


def test_digest_sends_once(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    inbox, port = smtp
    config = digest_config(tmp_path, port, ["staffer@example.org"])
    args = ["digest", "--db", str(db_path), "--config", str(config), "--today", "2026-12-03"]
    first = CliRunner().invoke(cli, args)
    second = CliRunner().invoke(cli, args)
    assert first.exit_code == 0 and "sent=1" in first.output, first.output
    assert second.exit_code == 0 and "skipped=1" in second.output
    assert len(inbox.messages) == 1


def test_an_unreachable_server_fails_loudly(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    config = digest_config(tmp_path, free_port(), ["staffer@example.org"])
    result = CliRunner().invoke(
        cli, ["digest", "--db", str(db_path), "--config", str(config), "--today", "2026-12-03"]
    )
    assert result.exit_code == 1 and "tried again next run" in result.output


def test_digest_counts_who_unsubscribed_and_reads_billtracker_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: tuple[Inbox, int]
) -> None:
    """The config from BILLTRACKER_DIGESTS (the variable the unsubscribe page reads too); an
    address with an `unsubscribes` row is not mailed and the summary says how many."""
    db_path = tmp_path / "b.db"
    db = make_db(db_path)
    db["unsubscribes"].insert(
        {"digest": "d", "address_key": address_key("Gone@Example.org"), "unsubscribed_at": "t", "how": "page"}
    )
    db.close()
    add_changes(db_path, 1)
    inbox, port = smtp
    head = 'unsubscribe_secret_env = "UNSUBSCRIBE_KEY_CLI"\n'
    config = digest_config(tmp_path, port, ["gone@example.org", "staffer@example.org"], head)
    monkeypatch.setenv("BILLTRACKER_DIGESTS", str(config))
    args = ["digest", "--db", str(db_path), "--today", "2026-12-03"]
    unset = CliRunner().invoke(cli, args)  # the variable is named but not set: nothing goes out
    assert unset.exit_code == 1 and "UNSUBSCRIBE_KEY_CLI, which is not set" in unset.output
    monkeypatch.setenv("UNSUBSCRIBE_KEY_CLI", "test-only-cli-key-0123456789")
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "sent=1" in result.output and "unsubscribed=1" in result.output
    assert inbox.recipients == [["staffer@example.org"]]
    assert "/-/unsubscribe?t=" in inbox.messages[0]["List-Unsubscribe"]
