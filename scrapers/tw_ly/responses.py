"""Reading responses of the Legislative Yuan's systems safely: provenance, JSON, block pages.

A block page, a WAF page or 此筆資料尚未建置 often comes back with status 200; treating it as
data would overwrite good rows with nothing, so it is named here and never parsed as a record.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.http import Response

from scrapers.clock import utc_now
from scrapers.items import FetchItem, Provenance

PLACEHOLDER = "此筆資料尚未建置"
BLOCK_MARKERS = ("captcha", "access denied", "request rejected", "403 forbidden", "cloudflare")


class BadBody(ValueError):
    """A response body that is not the data it should be. `kind` names the condition."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def fetch_item(response: Response, spider: str) -> FetchItem:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1")
    return FetchItem(
        url=response.url,
        status=response.status,
        fetched_at=utc_now(),
        content_sha256=sha256(response.body),
        bytes=len(response.body),
        spider=spider,
        content_type=content_type,
    )


def last_modified(response: Response) -> str:
    """The response's Last-Modified as UTC ISO 8601, "" when absent or unreadable."""
    raw = response.headers.get("Last-Modified", b"").decode("latin-1")
    try:
        stamp = parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError):
        return ""
    if stamp is None:
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Where a response's meta carries the URL it stands for (scrapers/middlewares.UpstreamUrlMiddleware).
UPSTREAM_META = "billtracker_upstream_url"


def upstream_url(url: str, upstream: dict[str, str]) -> str:
    """The URL a fetched URL stands for: a replay's http://127.0.0.1:PORT/v2/bills/X is
    https://ly.govapi.tw/v2/bills/X (BILLTRACKER_UPSTREAM: replay prefix -> upstream prefix, the
    longest prefix wins). A URL no prefix covers is its own upstream, as every live one is."""
    prefix = max((p for p in upstream if url.startswith(p)), key=len, default=None)
    return url if prefix is None else upstream[prefix] + url[len(prefix) :]


def stands_for(response: Response) -> str:
    """The upstream URL of a response: a reader's source link must not point at a replay that is
    gone. The `fetches` row keeps the URL actually requested (fetch_item)."""
    mapped = response.request.meta.get(UPSTREAM_META) if response.request is not None else None
    return mapped or response.url


def provenance(response: Response, spider: str) -> Provenance:
    """Provenance of what a response carries: the upstream URL it stands for, and the hash of
    the body actually fetched."""
    return Provenance(stands_for(response), utc_now(), sha256(response.body), spider, last_modified(response))


def decode(body: bytes) -> str:
    """UTF-8 (with or without BOM); a Big5 body is reported, not guessed into mojibake."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadBody("bad-encoding", "body is not UTF-8") from None


def classify_non_json(text: str) -> BadBody:
    """Name what came back instead of JSON."""
    lowered = text[:4000].lower()
    if PLACEHOLDER in text:
        return BadBody("placeholder-page", f"page says {PLACEHOLDER}")
    if any(marker in lowered for marker in BLOCK_MARKERS):
        return BadBody("block-page", "a block or error page came back with status 200")
    if lowered.lstrip().startswith(("<!doctype", "<html")) or "<body" in lowered:
        return BadBody("block-page", "HTML where JSON was expected")
    return BadBody("malformed-json", "body is not valid JSON")


def read_json(response: Response) -> Any:
    """Parse a JSON body or raise BadBody naming what it was instead."""
    text = decode(response.body)
    if not text.strip():
        raise BadBody("empty-body", "empty body")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        bad = classify_non_json(text)
        if bad.kind == "malformed-json":
            bad = BadBody("malformed-json", f"body is not valid JSON: {exc.msg} at char {exc.pos}")
        raise bad from None
    except RecursionError:  # [[[[...]]]] thousands deep: Python's parser gives up, so do we
        raise BadBody("malformed-json", "JSON nested too deeply to parse") from None
    if isinstance(body, dict) and body.get("error") is True:
        raise BadBody("api-error", f"API error: {body.get('message', '')}")
    return body
