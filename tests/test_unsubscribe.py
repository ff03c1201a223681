"""Self-service unsubscribe, end to end with real parts: a real SMTP server (aiosmtpd) receives a
digest, the link is taken from the message as received, a real in-process Datasette with the
billtracker plugins serves /-/unsubscribe over the same SQLite file; the next day's digest skips
that address and still reaches the other. Tokens altered, made for someone else, or missing are
refused with 400 and a message; a published replica says it cannot record anything."""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup

from billtracker.alerts.digests import load_digests, send_digests
from billtracker.alerts.subscriptions import BadSubscription
from billtracker.alerts.unsubscribe import BadToken, address_key, make_token, read_token
from billtracker.cli.publish import publish_snapshot
from billtracker.paths import REPO_ROOT
from billtracker.serve.datasette import SETTINGS, datasette_app, metadata_for
from tests.alerts_helpers import Inbox, add_changes, make_db

KEY_ENV = "UNSUBSCRIBE_KEY_TESTS"
SIGNING_KEY = "test-only-unsubscribe-key-0123456789"  # the HMAC secret of these tests
A, B = "a.staffer@example.org", "b.staffer@example.org"
DAY_2 = "2026-12-03T01:00:00Z"  # 09:00 on 3 December in Taipei


def write_digests(path: Path, port: int, secret_env: str = KEY_ENV, extra: str = "") -> Path:
    env_line = f'unsubscribe_secret_env = "{secret_env}"\n' if secret_env else ""
    path.write_text(
        f'site_url = "https://bt.example"\n{env_line}{extra}\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsender = "billtracker <alerts@bt.example>"\n\n'
        f'[[digest]]\nname = "cio-daily"\nwatch = "cio"\nto = ["{A}", "{B}"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site(tmp_path: Path, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> dict:
    """A live database with one day of changes, the digests file both sides read, and the secret
    in the environment, as `billtracker digest` and `billtracker serve` would have them."""
    inbox, port = smtp
    db_path = tmp_path / "billtracker.db"
    make_db(db_path).close()
    add_changes(db_path, 2)  # 2 December
    config = write_digests(tmp_path / "digests.toml", port)
    monkeypatch.setenv("BILLTRACKER_DIGESTS", str(config))
    monkeypatch.setenv(KEY_ENV, SIGNING_KEY)
    return {"db": db_path, "config": config, "inbox": inbox}


def send(site: dict, today: date) -> dict[str, int]:
    return send_digests(site["db"], load_digests(site["config"]), today)


def link_of(message) -> str:  # type: ignore[no-untyped-def]
    """The unsubscribe link as the recipient sees it: the header, the text and the HTML agree."""
    header = str(message["List-Unsubscribe"]).strip()
    assert header.startswith("<") and header.endswith(">"), header
    link = header[1:-1]
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert f"取消訂閱 / Unsubscribe: {link}\n" in text + "\n"
    [href] = re.findall(r'<a href="([^"]+)">取消訂閱 / Unsubscribe</a>', page)
    assert html.unescape(href) == link
    return link


def local(link: str) -> str:
    """The link's path and query, for the in-process client (site_url is the public host)."""
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "bt.example", "/-/unsubscribe")
    return f"{parts.path}?{parts.query}"


def request(db_path: Path, method: str, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    async def go() -> httpx.Response:
        return await datasette_app(db_path).client.request(method, path, **kwargs)

    return asyncio.run(go())


def unsubscribes(db_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("select digest, address_key, how from unsubscribes order by how").fetchall()


def message_text(response: httpx.Response) -> str:
    return BeautifulSoup(response.text, "html.parser").select_one("#bt-main").get_text(" ", strip=True)


def test_the_link_in_the_mail_unsubscribes_after_the_button_and_the_next_digest_skips_it(site: dict) -> None:
    assert send(site, date(2026, 12, 3)) == {
        "sent": 2,
        "nothing": 0,
        "failed": 0,
        "skipped": 0,
        "unsubscribed": 0,
    }
    by_to = {rcpt[0]: m for rcpt, m in zip(site["inbox"].recipients, site["inbox"].messages, strict=True)}
    message = by_to[A]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = link_of(message)
    payload = link.split("t=")[1].split(".")[0]
    assert A not in link and "staffer" not in base64.urlsafe_b64decode(payload + "==").decode()  # a key only
    assert link != link_of(by_to[B])  # one token per address

    shown = request(site["db"], "GET", local(link))  # a link scanner or the person: nothing happens
    assert shown.status_code == 200, shown.text[:2000]
    assert shown.headers["cache-control"] == "no-store"
    soup = BeautifulSoup(shown.text, "html.parser")
    [form] = soup.select("form.bt-unsubscribe-form")
    assert form["method"] == "post" and form.select_one("button").get_text() == "取消訂閱 Unsubscribe"
    body = message_text(shown)
    assert body.index("取消訂閱電子郵件摘要") < body.index("Unsubscribe from an email digest")  # 中文 first
    assert "cio-daily" in body and "watch cio" in body  # says what stops
    assert unsubscribes(site["db"]) == []
    assert request(site["db"], "GET", local(link)).status_code == 200 and unsubscribes(site["db"]) == []

    done = request(site["db"], "POST", html.unescape(form["action"]))  # the button
    assert done.status_code == 200, done.text[:2000]
    assert soup.select_one("#bt-main")["data-state"] == "confirm"
    done_soup = BeautifulSoup(done.text, "html.parser")
    assert done_soup.select_one("#bt-main")["data-state"] == "done"
    assert "已取消訂閱" in done_soup.h1.get_text() and "Unsubscribed" in done_soup.h1.get_text()
    assert unsubscribes(site["db"]) == [("cio-daily", address_key(A), "page")]
    again = request(site["db"], "GET", local(link))  # the link again: says so, no button
    assert "已取消訂閱" in again.text
    assert not BeautifulSoup(again.text, "html.parser").select("form.bt-unsubscribe-form")

    add_changes(site["db"], 1, start=5, detected_at=DAY_2)
    before = len(site["inbox"].messages)
    counts = send(site, date(2026, 12, 4))
    assert counts == {"sent": 1, "nothing": 0, "failed": 0, "skipped": 0, "unsubscribed": 1}
    assert site["inbox"].recipients[before:] == [[B]]  # B still gets it, A does not
    assert "委員會審查 #5" in site["inbox"].messages[-1].get_body(("plain",)).get_content()


def test_a_mail_clients_one_click_post_unsubscribes(site: dict) -> None:
    send(site, date(2026, 12, 3))
    inbox = site["inbox"]
    message = next(m for r, m in zip(inbox.recipients, inbox.messages, strict=True) if r == [B])
    response = request(
        site["db"],
        "POST",
        local(link_of(message)),
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and "已取消訂閱" in response.text
    assert unsubscribes(site["db"]) == [("cio-daily", address_key(B), "one-click")]


def test_the_button_works_for_a_browser_with_datasettes_csrf_cookie(site: dict) -> None:
    """asgi-csrf checks a form POST that carries cookies; the route skips it (the token is the
    capability), so a staffer who has browsed the site can still press the button."""
    send(site, date(2026, 12, 3))
    link = link_of(site["inbox"].messages[0])
    response = request(
        site["db"],
        "POST",
        local(link),
        content="",
        headers={"content-type": "application/x-www-form-urlencoded", "cookie": "ds_csrftoken=from-a-visit"},
    )
    assert response.status_code == 200, response.text[:500]
    assert len(unsubscribes(site["db"])) == 1


def forged(link: str, digest: str | None = None, to: str | None = None) -> str:
    """The link's token with its payload rewritten (another digest or address), the MAC kept."""
    payload, mac = link.split("t=", 1)[1].split(".")
    name, key = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw = json.dumps([digest or name, address_key(to) if to else key], separators=(",", ":")).encode()
    return "/-/unsubscribe?t=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("altered", "signature does not match"),
        ("another-address", "signature does not match"),
        ("another-digest", "signature does not match"),
        ("another-secret", "signature does not match"),
        ("cut-short", "malformed"),
        ("missing", "has no unsubscribe token"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_token_is_400_with_what_is_wrong(site: dict, case: str, says: str, method: str) -> None:
    send(site, date(2026, 12, 3))
    link = link_of(site["inbox"].messages[0])  # A's
    path = local(link)
    token = path.split("t=", 1)[1]
    paths = {
        "altered": path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"),
        "another-address": forged(link, to=B),
        "another-digest": forged(link, digest="org-weekly"),
        "another-secret": "/-/unsubscribe?t=" + make_token("some-other-site-key-0123456789", "cio-daily", A),
        "cut-short": "/-/unsubscribe?t=" + token.split(".")[0],
        "missing": "/-/unsubscribe",
    }
    response = request(site["db"], method, paths[case])
    assert response.status_code == 400
    text = message_text(response)
    assert says in text and "無法取消訂閱" in text and "Traceback" not in response.text
    assert unsubscribes(site["db"]) == []


def test_tokens_name_one_digest_and_one_address() -> None:
    token = make_token(SIGNING_KEY, "cio-daily", "Staffer@Example.org")
    assert read_token(SIGNING_KEY, token) == ("cio-daily", address_key("staffer@example.org"))
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)  # URL-safe as it is
    assert make_token(SIGNING_KEY, "cio-daily", A) != make_token(SIGNING_KEY, "cio-weekly", A)
    with pytest.raises(BadToken, match="signature"):
        read_token("another-key-of-sixteen-bytes", token)


def test_the_operators_one_liner_re_subscribes(tmp_path: Path) -> None:
    """docs/alerts.md's re-subscribe line, run as written: it computes the same key and deletes
    that row only."""
    assert shutil.which("sqlite3"), "the sqlite3 shell is missing (apt-get install sqlite3)"
    docs = (REPO_ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    [line] = [x for x in docs.splitlines() if x.startswith("sqlite3 billtracker.db") and "unsubscribes" in x]
    db = make_db(tmp_path / "billtracker.db")
    for digest, to in (("staff-cio-daily", "Staffer@Example.org"), ("staff-cio-daily", B), ("other", A)):
        db["unsubscribes"].insert({"digest": digest, "address_key": address_key(to), "how": "page"})
    db.conn.commit()
    db.close()
    subprocess.run(["bash", "-c", line], cwd=tmp_path, check=True, capture_output=True)
    left = {(d, k) for d, k, _ in unsubscribes(tmp_path / "billtracker.db")}
    assert left == {("staff-cio-daily", address_key(B)), ("other", address_key(A))}


def test_a_published_replica_says_it_cannot_unsubscribe(site: dict, tmp_path: Path) -> None:
    from datasette.app import Datasette

    send(site, date(2026, 12, 3))
    link = link_of(site["inbox"].messages[0])
    replica = tmp_path / "public" / "billtracker.db"
    replica.parent.mkdir()
    publish_snapshot(site["db"], replica)
    ds = Datasette(immutables=[str(replica)], metadata=metadata_for(replica), settings=SETTINGS)

    async def go() -> tuple[httpx.Response, httpx.Response]:
        return await ds.client.get(local(link)), await ds.client.post(local(link))

    shown, posted = asyncio.run(go())
    for response in (shown, posted):
        assert response.status_code == 503
        assert "read-only published copy" in message_text(response)
        assert not BeautifulSoup(response.text, "html.parser").select("form")
    assert unsubscribes(site["db"]) == [] and unsubscribes(replica) == []


def test_without_a_secret_the_link_is_a_mailto_and_the_page_is_not_offered(
    tmp_path: Path, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, port = smtp
    db_path = tmp_path / "billtracker.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    config = write_digests(tmp_path / "digests.toml", port, secret_env="")
    monkeypatch.setenv("BILLTRACKER_DIGESTS", str(config))
    assert send_digests(db_path, load_digests(config), date(2026, 12, 3))["sent"] == 2
    assert link_of(inbox.messages[0]).startswith("mailto:alerts@bt.example?subject=unsubscribe")
    assert inbox.messages[0]["List-Unsubscribe-Post"] is None  # no one-click for a mailto
    monkeypatch.setenv(KEY_ENV, SIGNING_KEY)
    token = make_token(SIGNING_KEY, "cio-daily", A)  # even a well-made token: no page here
    response = request(db_path, "GET", f"/-/unsubscribe?t={token}")
    assert response.status_code == 404 and "offers no unsubscribe page" in message_text(response)


def test_a_secret_named_but_not_set_sends_nothing(site: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(BadSubscription, match=f"{KEY_ENV}, which is not set"):
        send(site, date(2026, 12, 3))
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(BadSubscription, match="too short"):
        send(site, date(2026, 12, 3))
    assert site["inbox"].messages == []
    token = make_token(SIGNING_KEY, "cio-daily", A)
    response = request(site["db"], "POST", f"/-/unsubscribe?t={token}")  # the page cannot check either
    assert response.status_code == 503 and "cannot read its digest settings" in message_text(response)
    assert unsubscribes(site["db"]) == []


def test_the_config_is_checked(tmp_path: Path) -> None:
    path = write_digests(tmp_path / "d.toml", 25, extra='unsubscribe_url = "https://x.example/u?to={to}"\n')
    with pytest.raises(BadSubscription, match="not both"):
        load_digests(path)
    path = write_digests(tmp_path / "d.toml", 25, secret_env="", extra='unsubscribe_secret = "x"\n')
    with pytest.raises(BadSubscription, match="put the secret in the environment"):
        load_digests(path)
    path = write_digests(tmp_path / "d.toml", 25, secret_env="not a name")
    with pytest.raises(BadSubscription, match="variable name"):
        load_digests(path)


def test_only_the_unsubscribe_path_takes_a_post(site: dict) -> None:
    for path in ("/-/unsubscribe/", "/-/unsubscribex", "/billtracker/bills", "/-/unsubscribe.json"):
        assert request(site["db"], "POST", path).status_code == 405, path


def test_a_huge_post_is_refused_unread(site: dict) -> None:
    token = make_token(SIGNING_KEY, "cio-daily", A)
    response = request(site["db"], "POST", f"/-/unsubscribe?t={token}", content=b"x" * 100_000)
    assert response.status_code == 413 and unsubscribes(site["db"]) == []
