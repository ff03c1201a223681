"""Datasette plugin `billtracker_api`: the HTTP side of the public JSON API and feeds.

- `changes_since` and `law_bills` page by keyset: when a page is full, a
  `Link: <...after_id=N>; rel="next"` (`...before=LAST_ON/BILL_NO` for law_bills) header points at
  the next one (canned queries cannot set headers themselves).
- Cache-Control per kind of endpoint: API queries 60 s, feeds 5 min, `health` and `runs_feed`
  (how the crawls are doing) never cached.
- `Access-Control-Expose-Headers: Link` so browsers (CORS is on) can read the paging header.
- A feed with no entries yet (a new watch, a quiet committee) is an empty Atom feed, not the
  HTTP 500 datasette-atom 0.9 gives when a query returns no rows (it takes max() of nothing).
Registered through the `datasette` entry point `billtracker_api` in pyproject.toml.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl

from pipelines.schema.functions import register_functions

# Must equal the LIMIT of the changes_since / law_bills canned queries (tests check both).
CHANGES_PAGE_SIZE = 100
LAW_BILLS_PAGE_SIZE = 100
API_QUERIES = {
    "bill_timeline",
    "law_bills",
    "search",
    "changes_since",
    "bills_at_stage",
    "committee_queue",
    "legislator_bills",
    "bill_as_of",
}
NO_CACHE_QUERIES = {"health", "runs_feed"}
API_MAX_AGE = 60
FEED_MAX_AGE = 300


def endpoint(path: str) -> tuple[str, str] | None:
    """'/billtracker/changes_since.json' -> ('changes_since', 'json'); None for other paths."""
    parts = path.strip("/").split("/")
    if len(parts) != 2 or "." not in parts[1]:
        return None
    name, _, ext = parts[1].rpartition(".")
    return (name, ext) if ext in {"json", "atom"} else None


def cache_control(name: str, ext: str) -> bytes | None:
    if name in NO_CACHE_QUERIES:
        return b"no-store"
    if ext == "atom":
        return f"public, max-age={FEED_MAX_AGE}".encode()
    if name in API_QUERIES:
        return f"public, max-age={API_MAX_AGE}".encode()
    return None


def rows_of(body: bytes) -> list[dict[str, Any]]:
    data = json.loads(body or b"null")
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        columns = data.get("columns") or []
        return [r if isinstance(r, dict) else dict(zip(columns, r, strict=False)) for r in data["rows"]]
    return []


EMPTY_FEED_ERROR = b"max() arg is an empty sequence"


def empty_feed(datasette: Any, scope: dict[str, Any], name: str) -> bytes:
    """A valid Atom feed without entries, titled like the canned query."""
    from datetime import UTC, datetime

    from feedgen.feed import FeedGenerator

    url = request_url(scope)
    database = scope["path"].strip("/").split("/")[0]
    queries = (datasette.metadata(database=database) or {}).get("queries") or {}
    fg = FeedGenerator()
    fg.id(url)
    fg.link(href=url, rel="self")
    fg.title(str((queries.get(name) or {}).get("title") or name))
    fg.updated(datetime.now(UTC))
    return fg.atom_str(pretty=True)


def request_url(scope: dict[str, Any], query: str | None = None) -> str:
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"localhost").decode("latin-1")
    qs = scope.get("query_string", b"").decode() if query is None else query
    return f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + (f"?{qs}" if qs else "")


def page_key(name: str, row: dict[str, Any]) -> tuple[str, str] | None:
    """The keyset parameter that continues after `row`: changes_since after_id=ID, law_bills
    before=LAST_ON/BILL_NO (the sort is last_on desc, bill_no desc; no date sorts as '')."""
    if name == "changes_since" and "id" in row:
        return "after_id", str(row["id"])
    if name == "law_bills" and "bill_no" in row:
        return "before", f"{row.get('last_on') or ''}/{row['bill_no']}"
    return None


PAGE_SIZES = {"changes_since": CHANGES_PAGE_SIZE, "law_bills": LAW_BILLS_PAGE_SIZE}
FIRST_COLUMNS = {"changes_since": "id", "law_bills": "bill_no"}


def page_rows(body: bytes, name: str) -> tuple[int, dict[str, Any] | None]:
    """(rows on the page, the last row) without decoding the whole page when it is a `_shape=array`:
    each row object starts with its first column, and that text cannot occur inside a JSON string
    (quotes in strings are escaped). Other shapes are decoded in full."""
    marker = b'{"' + FIRST_COLUMNS[name].encode() + b'": '
    count = body.count(marker)
    if count and body.lstrip().startswith(b"["):
        last, _ = json.JSONDecoder().raw_decode(body[body.rfind(marker) :].decode("utf-8"))
        return count, last
    rows = rows_of(body)
    return len(rows), (rows[-1] if rows else None)


def next_link(scope: dict[str, Any], body: bytes, name: str) -> bytes | None:
    """The rel=next Link for a full page, keyed on the last row."""
    count, last = page_rows(body, name)
    if count < PAGE_SIZES[name] or last is None or not (key := page_key(name, last)):
        return None
    params = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
    params = [(k, v) for k, v in params if k != key[0]] + [key]
    return f'<{request_url(scope, urlencode(params))}>; rel="next"'.encode()


@hookimpl
def prepare_connection(conn: Any) -> None:
    """Decode text in C: Datasette's text_factory is a Python lambda that tolerates invalid UTF-8,
    called once per text cell (~600 calls, ~0.5 ms of a 100-row law_bills page). Every text in
    billtracker's database was written by Python's sqlite3, so it is valid UTF-8."""
    conn.text_factory = str
    # 64 MB of page cache per connection instead of 2 MB: a page of law_bills reads 100 bills rows
    # scattered over the file (0.9 -> 0.5 ms at 150,000 bills).
    conn.execute("PRAGMA cache_size = -65536")
    # What the views call (the search_texts view keys titles and 案由 as it reads them).
    register_functions(conn)


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def with_api_headers(scope: dict[str, Any], receive: Any, send: Any) -> None:
            found = endpoint(scope.get("path", "")) if scope.get("type") == "http" else None
            control = cache_control(*found) if found else None
            if control is None:
                await app(scope, receive, send)
                return
            paging = found[1] == "json" and found[0] in PAGE_SIZES
            feed = found[1] == "atom"
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            def headers_for(message: dict[str, Any], link: bytes | None) -> dict[str, Any]:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", control))
                headers.append((b"access-control-expose-headers", b"Link"))
                if link:
                    headers.append((b"link", link))
                return {**message, "headers": headers}

            async def send_with_headers(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    status = message.get("status")
                    if (paging and status == 200) or (feed and status == 500):
                        start.update(message)  # hold the headers until the body is known
                        return
                    await send(headers_for(message, None))
                    return
                if start and message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                    if message.get("more_body"):
                        return
                    body = b"".join(chunks)
                    link = None
                    if feed and EMPTY_FEED_ERROR in body:
                        body = empty_feed(datasette, scope, found[0])
                        headers = [
                            (b"content-type", b"application/xml; charset=utf-8"),
                            (b"access-control-allow-origin", b"*"),
                        ]
                        start.update({"status": 200, "headers": headers})
                    elif paging:
                        try:
                            link = next_link(scope, body, found[0])
                        except ValueError:
                            link = None
                    start_headers = [
                        (k, v) for k, v in headers_for(start, link)["headers"] if k != b"content-length"
                    ]
                    start_headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": start_headers})
                    await send({"type": "http.response.body", "body": body})
                    return
                await send(message)

            await app(scope, receive, send_with_headers)

        return with_api_headers

    return wrap
