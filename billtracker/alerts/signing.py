"""The webhook signature: HMAC-SHA256 over `timestamp + "." + body`, hex, in
`X-Billtracker-Signature: v1=<hex>`, with the Unix timestamp in `X-Billtracker-Timestamp`.

Signing the timestamp with the body lets a receiver refuse a replayed request: a captured
request re-sent later carries an old timestamp it cannot re-sign. Receivers may copy
:func:`verify`; it needs only the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Billtracker-Signature"
TIMESTAMP_HEADER = "X-Billtracker-Timestamp"
EVENT_ID_HEADER = "X-Billtracker-Event-Id"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256 of `timestamp.body` under the secret (UTF-8)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers for one attempt (each attempt is signed at its own time)."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True when the signature is the secret's over this timestamp and body and the timestamp is
    within `tolerance` seconds of now. `headers` must look names up case-insensitively (an
    http.server or email.message headers object does)."""
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    given = headers.get(SIGNATURE_HEADER) or ""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), given)
