"""`billtracker digest` as the operator runs it, against a real SMTP server: it sends, says what
it did, and a second run the same day sends nothing, nor to an address that unsubscribed."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from billtracker.alerts.unsubscribe import address_key
from billtracker.cli import cli
from tests.alerts_helpers import Inbox, add_changes, free_port, make_db


def test_digest_sends_once(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    inbox, port = Inbox(), free_port()
    config = tmp_path / "d.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n\n'
        '[[digest]]\nname = "d"\nwatch = "cio"\nto = ["staffer@example.org"]\n',
        encoding="utf-8",
    )
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        args = ["digest", "--db", str(db_path), "--config", str(config), "--today", "2026-12-03"]
        first = CliRunner().invoke(cli, args)
        second = CliRunner().invoke(cli, args)
    finally:
        controller.stop()
    assert first.exit_code == 0 and "sent=1" in first.output, first.output
    assert second.exit_code == 0 and "skipped=1" in second.output
    assert len(inbox.messages) == 1


def test_an_unreachable_server_fails_loudly(tmp_path: Path) -> None:
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    config = tmp_path / "d.toml"
    config.write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\n\n'
        '[[digest]]\nname = "d"\nwatch = "cio"\nto = ["staffer@example.org"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["digest", "--db", str(db_path), "--config", str(config), "--today", "2026-12-03"]
    )
    assert result.exit_code == 1 and "tried again next run" in result.output


def test_digest_counts_who_unsubscribed_and_reads_billtracker_digests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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
    inbox, port = Inbox(), free_port()
    config = tmp_path / "d.toml"
    config.write_text(
        f'unsubscribe_secret_env = "UNSUBSCRIBE_KEY_CLI"\n[smtp]\nhost = "127.0.0.1"\nport = {port}\n\n'
        '[[digest]]\nname = "d"\nwatch = "cio"\nto = ["gone@example.org", "staffer@example.org"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("BILLTRACKER_DIGESTS", str(config))
    args = ["digest", "--db", str(db_path), "--today", "2026-12-03"]
    unset = CliRunner().invoke(cli, args)  # the variable is named but not set: nothing goes out
    assert unset.exit_code == 1 and "UNSUBSCRIBE_KEY_CLI, which is not set" in unset.output
    monkeypatch.setenv("UNSUBSCRIBE_KEY_CLI", "test-only-cli-key-0123456789")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        controller.stop()
    assert result.exit_code == 0 and "sent=1" in result.output and "unsubscribed=1" in result.output
    assert inbox.recipients == [["staffer@example.org"]]
    assert "/-/unsubscribe?t=" in inbox.messages[0]["List-Unsubscribe"]
