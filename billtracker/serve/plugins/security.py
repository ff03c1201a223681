"""Datasette plugin `billtracker_security`: security headers on every response, and no writes
but an unsubscribe.

The site is public, read-only open data: what a browser needs to be told is "do not sniff types,
do not frame us, load scripts and styles only from here, send no referrer off-site"; the one
page made to be framed, the embed card, gets its own stricter policy that any origin may frame. The headers
are set here rather than in nginx so that every way of serving (`billtracker serve`, replicas
behind nginx, the tests) carries them. HSTS belongs to whatever terminates TLS (nginx or the CDN).

Anything but GET/HEAD/OPTIONS is refused with 405 before Datasette sees it: Datasette 0.65 has no
write API and billtracker's canned queries are read-only, so a POST can only be a mistake or an
attack (it would reach a canned query's form handler or /-/permissions-style debug forms). The
one exception is a POST to the unsubscribe page's exact path (plugins/unsubscribe.py): it writes
one row, and only for the holder of a signed token.
Registered through the `datasette` entry point `billtracker_security` in pyproject.toml.
"""

from __future__ import annotations

import re
from typing import Any

from datasette import hookimpl

from billtracker.alerts.unsubscribe import PATH as UNSUBSCRIBE_PATH

SECURITY_HEADERS: dict[bytes, bytes] = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), interest-cohort=()",
    # Datasette's own pages use inline <script> and style attributes, hence 'unsafe-inline';
    # nothing is loaded from another origin.
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
        b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def refused(method: str, path: str) -> bool:
    """Everything but a read, except a POST to the unsubscribe page's exact path."""
    method = method.upper()
    return method not in READ_METHODS and not (method == "POST" and path == UNSUBSCRIBE_PATH)


# The one exception to "do not frame us", decided (docs/security.md): the embed card is made for
# news sites' iframes. It runs no script and loads nothing, so its policy forbids both; any
# origin may frame it, and no other page may be framed.
EMBED_PATH = re.compile(r"^/-/embed/bill/[0-9]+$")  # the route of pages.py, exactly
EMBED_HEADERS: dict[bytes, bytes] = {
    **{
        k: v for k, v in SECURITY_HEADERS.items() if k not in {b"x-frame-options", b"content-security-policy"}
    },
    b"content-security-policy": (
        b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        b"form-action 'none'; frame-ancestors *"
    ),
}


def headers_for_path(path: str) -> dict[bytes, bytes]:
    """The embed card's headers on the card's route, everyone else's everywhere else."""
    return EMBED_HEADERS if EMBED_PATH.match(path) else SECURITY_HEADERS


def with_security_headers(
    headers: list[tuple[bytes, bytes]], ours: dict[bytes, bytes] = SECURITY_HEADERS
) -> list[tuple[bytes, bytes]]:
    """The response's headers with ours set (replacing any of the same name, and any frame
    header a page set itself: framing is decided here only)."""
    drop = set(SECURITY_HEADERS) | set(ours)
    kept = [(k, v) for k, v in headers if k.lower() not in drop]
    return kept + list(ours.items())


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def secured(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            if refused(scope.get("method", "GET"), scope.get("path", "")):
                body = b"read-only: billtracker accepts GET and HEAD only\n"
                headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD, OPTIONS")]
                await send(
                    {"type": "http.response.start", "status": 405, "headers": with_security_headers(headers)}
                )
                await send({"type": "http.response.body", "body": body})
                return

            ours = headers_for_path(scope.get("path", ""))

            async def send_secured(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    headers = with_security_headers(list(message.get("headers", [])), ours)
                    message = {**message, "headers": headers}
                await send(message)

            await app(scope, receive, send_secured)

        return secured

    return wrap
