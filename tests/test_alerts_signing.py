"""The signature scheme as docs/alerts.md documents it: a receiver's check with the standard
library alone agrees with billtracker/alerts/signing.py."""

from __future__ import annotations

import hashlib
import hmac

from billtracker.alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

KEY = "test-only-hook-key"
BODY = '{"event_id": "evt_1", "change": {"new_value": "三讀"}}'.encode()


def test_the_documented_recipe_verifies_what_is_sent() -> None:
    headers = sign(KEY, BODY, now=1_764_650_000)
    assert headers[TIMESTAMP_HEADER] == "1764650000"
    expected = hmac.new(KEY.encode(), b"1764650000." + BODY, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"v1={expected}"
    assert verify(KEY, headers, BODY, now=1_764_650_100)


def test_tampering_an_old_timestamp_or_another_key_fail() -> None:
    headers = sign(KEY, BODY, now=1_764_650_000)
    assert not verify(KEY, headers, BODY + b" ", now=1_764_650_000)
    assert not verify("another-key", headers, BODY, now=1_764_650_000)
    assert not verify(KEY, headers, BODY, now=1_764_650_000 + 301)  # a replay, five minutes on
    assert not verify(KEY, {**headers, TIMESTAMP_HEADER: "1764650001"}, BODY, now=1_764_650_000)
    assert not verify(KEY, {}, BODY)
