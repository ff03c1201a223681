"""Email digests through a real SMTP server (aiosmtpd on 127.0.0.1): one message per watch,
recipient and period, Chinese first, plain text and HTML, links to the bill pages, an unsubscribe
link; nothing sent when nothing changed, nothing twice, a failed send tried again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from billtracker.alerts.digests import Digest, DigestConfig, last_period, load_digests, send_digests
from billtracker.alerts.subscriptions import BadSubscription
from tests.alerts_helpers import add_changes, free_port, make_db


def config(port: int, period: str = "daily", to: tuple[str, ...] = ("staffer@example.org",)) -> DigestConfig:
    return DigestConfig(
        site_url="https://bt.example",
        host="127.0.0.1",
        port=port,
        sender="billtracker <alerts@bt.example>",
        digests=(Digest("cio-daily", "cio", to, period),),
    )


def test_a_day_of_changes_is_one_message_chinese_first_with_links(tmp_path: Path, smtp) -> None:
    inbox, port = smtp
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 2)  # detected 2026-12-02T00:00:00Z = 08:00 in Taipei, 2 December
    counts = send_digests(db_path, config(port, to=("a@example.org", "b@example.org")), date(2026, 12, 3))
    assert counts == {"sent": 2, "nothing": 0, "failed": 0, "skipped": 0, "unsubscribed": 0}
    assert inbox.recipients == [["a@example.org"], ["b@example.org"]]
    message = inbox.messages[0]
    assert message["Subject"] == "【billtracker】watch cio：2026-12-02（週三） 2 項變更"
    assert message["List-Unsubscribe"].strip().startswith("<mailto:alerts@bt.example?subject=unsubscribe")
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert text.startswith("watch cio（cio）\n2026-12-02（週三）　共 2 項變更")
    assert text.index("取消訂閱") > text.index("委員會審查 #1")  # Chinese first, the footer last
    assert "https://bt.example/-/bill/1051006070201100" in text
    assert '<a href="https://bt.example/-/bill/1051006070201100">' in page
    assert "依據：議案流程 2016-10-13 委員會審查 (LYAPI)" in text  # the evidence as stored
    assert "注意：資料截至 2016-12-01；此後未知" in text and "注意：資料截至 2016-12-01；此後未知" in page
    assert "Unsubscribe" in page and message["Message-ID"] != inbox.messages[1]["Message-ID"]


def test_nothing_is_sent_when_nothing_changed_nor_twice(tmp_path: Path, smtp) -> None:
    inbox, port = smtp
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    assert send_digests(db_path, config(port), date(2026, 12, 5))["nothing"] == 1  # 4 December: none
    assert send_digests(db_path, config(port), date(2026, 12, 3))["sent"] == 1
    assert send_digests(db_path, config(port), date(2026, 12, 3))["skipped"] == 1
    assert len(inbox.messages) == 1


def test_a_week_is_monday_to_sunday(tmp_path: Path, smtp) -> None:
    inbox, port = smtp
    assert last_period("weekly", date(2026, 12, 9)) == (date(2026, 11, 30), date(2026, 12, 7))
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 3)
    assert send_digests(db_path, config(port, "weekly"), date(2026, 12, 9))["sent"] == 1
    assert "2026-11-30至2026-12-06" in inbox.messages[0]["Subject"]


def test_an_smtp_server_that_is_down_is_tried_again(tmp_path: Path, smtp) -> None:
    inbox, port = smtp
    db_path = tmp_path / "b.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    assert send_digests(db_path, config(free_port()), date(2026, 12, 3))["failed"] == 1
    assert send_digests(db_path, config(port), date(2026, 12, 3))["sent"] == 1
    assert len(inbox.messages) == 1


def test_the_config_is_checked(tmp_path: Path) -> None:
    assert load_digests().digests == ()
    path = tmp_path / "d.toml"
    path.write_text('[[digest]]\nname = "x"\nwatch = "cio"\nto = ["nobody"]\n', encoding="utf-8")
    with pytest.raises(BadSubscription, match="not an address"):
        load_digests(path)
    path.write_text(
        '[[digest]]\nname = "x"\nwatch = "cio"\nto = "a@b.org"\nperiod = "hourly"\n', encoding="utf-8"
    )
    with pytest.raises(BadSubscription, match="daily or weekly"):
        load_digests(path)
