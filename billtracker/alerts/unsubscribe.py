"""Self-service unsubscribe from an email digest: the signed token in each message's link, and the
`unsubscribes` rows the page writes and `billtracker digest` honours.

Why a signed token rather than `?digest=...&to=...`: anyone could unsubscribe anyone by editing
the link. The token names one (digest, address key) and carries an HMAC-SHA256 of both under the
operator's secret (the environment variable `unsubscribe_secret_env` of digests.toml names), so
it cannot be forged, nor turned into another address's or another digest's. It carries the
address's key (sha256 of the address in lower case), not the address: the link, and the access
logs it lands in, hold no address. No expiry: a link in a mail from last year should still stop
the mails; rotating the secret is how old links are revoked.

signing.py's scheme does not fit here: it signs a body at a time, for two headers; this token
travels in a URL, so it is base64url and its MAC is domain-separated (PURPOSE), so no webhook
signature is ever also a valid token, even under the same secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import sqlite3

PURPOSE = b"billtracker-unsubscribe-v1\n"  # signed ahead of the payload: a token is only a token
PATH = "/-/unsubscribe"  # the page's route (billtracker/serve/plugins/unsubscribe.py)
KEY_HEX = re.compile(r"^[0-9a-f]{64}$")
MIN_SECRET_BYTES = 16
HOWS = ("page", "one-click")  # the page's button; a mail client's RFC 8058 one-click POST


class BadToken(ValueError):
    """A token that names nobody: missing, malformed or not signed by this site's secret. The
    message is one line for the person holding the link (Chinese first)."""


def address_key(address: str) -> str:
    """sha256 hex of the address as written, stripped and in lower case: what the token and the
    `unsubscribes` table hold instead of the address (the same as
    `printf %s ADDRESS | tr A-Z a-z | sha256sum`, for the operator)."""
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), PURPOSE + payload, hashlib.sha256).digest()


def make_token(secret: str, digest: str, address: str) -> str:
    """`PAYLOAD.MAC`, both base64url: PAYLOAD is the JSON `[digest, address key]`."""
    payload = json.dumps([digest, address_key(address)], ensure_ascii=False, separators=(",", ":"))
    raw = payload.encode("utf-8")
    return f"{_b64(raw)}.{_b64(_mac(secret, raw))}"


def read_token(secret: str, token: str) -> tuple[str, str]:
    """(digest, address key) of a token this secret signed, else BadToken saying what is wrong."""
    if not token:
        raise BadToken(
            "連結缺少取消訂閱代碼 / The link has no unsubscribe token (t=…):"
            " open the whole link from the email."
        )
    payload_part, dot, mac_part = token.strip().partition(".")
    try:
        if not dot or not payload_part or not mac_part:
            raise ValueError("not PAYLOAD.MAC")
        raw, given = _unb64(payload_part), _unb64(mac_part)
    except (ValueError, binascii.Error):
        raise BadToken(
            "取消訂閱代碼格式不正確 / The unsubscribe token is malformed (cut short or altered?):"
            " open the whole link from the email."
        ) from None
    if not hmac.compare_digest(_mac(secret, raw), given):
        raise BadToken(
            "取消訂閱代碼無效 / The unsubscribe token's signature does not match: it was altered,"
            " or made for another address or digest, or this site's secret has changed since the"
            " email was sent. Use the link in your latest digest."
        )
    try:
        digest, key = json.loads(raw.decode("utf-8"))
    except (ValueError, TypeError):  # signed by us, so only an older format could get here
        raise BadToken("取消訂閱代碼格式不正確 / The unsubscribe token is of an unknown format.") from None
    if not isinstance(digest, str) or not isinstance(key, str) or not KEY_HEX.match(key):
        raise BadToken("取消訂閱代碼格式不正確 / The unsubscribe token is of an unknown format.")
    return digest, key


def record(conn: sqlite3.Connection, digest: str, key: str, how: str, at: str) -> str:
    """Record the unsubscribe (one short transaction); returns when it was first recorded, so a
    second click says the same thing as the first."""
    if how not in HOWS:
        raise ValueError(f"how must be one of {HOWS}, got {how!r}")
    with conn:
        conn.execute(
            "insert into unsubscribes (digest, address_key, unsubscribed_at, how) values (?, ?, ?, ?)"
            " on conflict (digest, address_key) do nothing",
            [digest, key, at, how],
        )
    return conn.execute(
        "select unsubscribed_at from unsubscribes where digest = ? and address_key = ?", [digest, key]
    ).fetchone()[0]


def unsubscribed_keys(conn: sqlite3.Connection, digest: str) -> set[str]:
    """The address keys that unsubscribed from a digest (re-subscribing deletes the row)."""
    return {k for (k,) in conn.execute("select address_key from unsubscribes where digest = ?", [digest])}
