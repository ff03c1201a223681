"""Datasette plugin `billtracker_unsubscribe`: /-/unsubscribe?t=TOKEN, the page each email
digest's unsubscribe link opens (docs/alerts.md#unsubscribing).

GET only shows what the link would do and a button: link scanners and mail previews fetch links,
and a GET that unsubscribed would unsubscribe people who never clicked. POST (the button, or a
mail client's RFC 8058 one-click POST of `List-Unsubscribe=One-Click`) records it in
`unsubscribes`, which `billtracker digest` reads.

The write goes to the served file itself, through a sqlite3 connection of its own (Datasette
opens a mutable file read-only for queries): one short transaction with a busy timeout, so a
crawl's transaction delays it by seconds at most. A file served immutable (`-i`, a published
replica) is a copy: the page says unsubscribing is not available there instead of recording
into a copy nobody reads. CSRF protection is skipped on this one route because the token is the
capability: a forged cross-site POST needs the token, and holding it is all the button needs.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote

from datasette import hookimpl
from datasette.utils.asgi import Response

from billtracker.alerts.digests import config_path, load_digests, unsubscribe_secret
from billtracker.alerts.subscriptions import BadSubscription
from billtracker.alerts.unsubscribe import PATH, BadToken, read_token, record

log = logging.getLogger(__name__)
BUSY_TIMEOUT_SECONDS = 5.0
ONE_CLICK = b"List-Unsubscribe=One-Click"
MAX_BODY = 8192  # a button's form or a one-click body is a few dozen bytes; read no more than this
HEADERS = {"cache-control": "no-store", "x-robots-tag": "noindex"}


class Unavailable(Exception):
    """Unsubscribing cannot be done here; carries the status and the two-language message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def find_secret() -> str:
    """The token secret of the digests file this server reads, or Unavailable."""
    try:
        config = load_digests(config_path())
        secret = unsubscribe_secret(config)
    except BadSubscription as exc:
        log.error("unsubscribe page: %s", exc)  # the operator's detail goes to the log, not the page
        raise Unavailable(
            503,
            "取消訂閱暫時無法使用 / Unsubscribing is not available right now: this server cannot read"
            " its digest settings. Try again later, or reply to the digest's sender.",
        ) from None
    if secret is None:
        raise Unavailable(
            404,
            "本站未提供取消訂閱頁面 / This site offers no unsubscribe page: reply to the digest's"
            " sender to be taken off the list.",
        )
    return secret


async def live_database(datasette: Any) -> Any:
    """The served database holding `unsubscribes`, if it may be written; else Unavailable."""
    for name, db in datasette.databases.items():
        if name == "_internal" or db.is_memory or not await db.table_exists("unsubscribes"):
            continue
        if not db.is_mutable:
            raise Unavailable(
                503,
                "此處無法取消訂閱 / Unsubscribing is not available here: this is a read-only published"
                " copy of billtracker, and nothing can be recorded on it. Open the link on the site"
                " that sends the digests, or reply to the digest's sender.",
            )
        return db
    raise Unavailable(
        503,
        "取消訂閱暫時無法使用 / Unsubscribing is not available right now: the database has no"
        " unsubscribes table yet (`billtracker digest` creates it).",
    )


def write(path: str, digest: str, key: str, how: str) -> str:
    """Record the unsubscribe in the live file; returns when it was first recorded."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return record(conn, digest, key, how, at)
    finally:
        conn.close()


async def watch_of(db: Any, digest: str) -> dict[str, str]:
    """The digest's watch and its title, for the page to say what stops; {} if unknown."""
    try:
        entry = next((d for d in load_digests(config_path()).digests if d.name == digest), None)
    except BadSubscription:
        return {}
    if entry is None:
        return {}
    rows = await db.execute("select title from watches where name = ?", [entry.watch])
    return {"watch": entry.watch, "watch_title": rows.first()["title"] if rows.first() else ""}


async def read_body(request: Any, limit: int = MAX_BODY) -> bytes | None:
    """The POST body, or None past `limit` bytes: the one route that takes a POST must not
    buffer whatever a client sends."""
    body = b""
    while True:
        message = await request.receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return body


async def page(datasette: Any, request: Any, status: int = 200, **context: Any) -> Response:
    html = await datasette.render_template("unsubscribe.html", context, request=request)
    return Response.html(html, status=status, headers=HEADERS)


async def unsubscribe_page(datasette: Any, request: Any) -> Response:
    token = request.args.get("t", "")
    body = b""
    if request.method == "POST":
        read = await read_body(request)
        if read is None:
            message = "請求過大 / The request is too large for an unsubscribe."
            return await page(datasette, request, 413, state="error", message=message)
        body = read
        if not token and request.headers.get("content-type", "").startswith("application/x-www-form"):
            token = dict(parse_qsl(body.decode("utf-8", "replace"))).get("t", "")
    try:
        digest, key = read_token(find_secret(), token)
        db = await live_database(datasette)
    except BadToken as exc:
        return await page(datasette, request, 400, state="error", message=str(exc))
    except Unavailable as exc:
        return await page(datasette, request, exc.status, state="error", message=exc.message)
    about = await watch_of(db, digest)
    if request.method != "POST":
        rows = await db.execute(
            "select unsubscribed_at from unsubscribes where digest = ? and address_key = ?", [digest, key]
        )
        since = rows.first()["unsubscribed_at"] if rows.first() else None
        state = "done" if since else "confirm"
        action = f"{PATH}?t={quote(token, safe='')}"
        return await page(datasette, request, state=state, digest=digest, since=since, action=action, **about)
    how = "one-click" if ONE_CLICK in body[:1024] else "page"
    try:
        since = await asyncio.to_thread(write, db.path, digest, key, how)
    except sqlite3.Error as exc:
        log.error("unsubscribe page: could not record %s: %s", digest, exc)
        message = (
            "目前無法記錄，請稍後再試 / The unsubscribe could not be recorded just now (the database is"
            " busy or read-only). Please try again in a minute."
        )
        return await page(datasette, request, 503, state="error", message=message)
    return await page(datasette, request, state="done", digest=digest, since=since, **about)


@hookimpl
def skip_csrf(scope: dict[str, Any]) -> bool:
    """The token is the capability (see the module docstring); every other route keeps CSRF."""
    return scope.get("path") == PATH


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [(r"^/-/unsubscribe$", unsubscribe_page)]
