"""A local HTTP replay of the ly.govapi.tw v2 API, so spiders and tests crawl with no network.

Captured v2 responses are served byte for byte for the exact requests they answered; every
other answer is computed from the pools built by ``derive.load_replay`` (captured + DERIVED
records). An ``overlay`` lets tests inject failures (malformed JSON, block pages, 429, 500).

    python -m billtracker.replay.server --samples ../shared/samples --port 8765
"""

from __future__ import annotations

import argparse
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from . import lyapi, moj
from .answers import (
    JSON_TYPE,
    BadRequest,
    Response,
    WindowExceeded,
    apply_filters,
    bill_field,
    bill_list_item,
    error_response,
    json_response,
    page_of,
    query_filters,
)
from .corpus import Corpus, load_corpus
from .derive import ReplayData, capture_key, load_replay
from .scale import ScaleCorpus, scale_route
from .sources import route_sources

ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
RESET = 0  # an overlay answering (RESET, b"", {}) makes the server reset the connection

LAW_FILTERS = ["法律編號", "類別", "母法編號", "法律狀態", "主管機關"]

Overlay = dict[str, Response] | Callable[[str], Response | None]


def bill_list(data: ReplayData, params: list[lyapi.Param], extra: dict | None = None) -> Response:
    """Body of /v2/bills (and /v2/laws/{code}/bills) by LYAPI's rules (replay/lyapi.py)."""
    try:
        query = lyapi.parse_list_query(params, data.rules)
    except lyapi.ApiError as exc:
        return error_response(exc.status, str(exc))
    for name, values in (extra or {}).items():
        query.terms.setdefault(name, []).extend(values)
    chosen = lyapi.select(list(data.bills.values()), bill_field, query)
    return json_response(200, lyapi.list_body(chosen, bill_field, bill_list_item, query))


def law_list(data: ReplayData, params: list[tuple[str, str]]) -> Any:
    """Body of /v2/laws: filtered, sorted by 法律編號, paged; `agg` buckets as for bills."""
    filters = query_filters(params, LAW_FILTERS)
    laws = sorted(apply_filters(data.laws.values(), filters), key=lambda law: law["法律編號"])
    header, page = page_of(laws, params)
    body = {
        **header,
        "filter": filters,
        "sort": ["法律編號"],
        "id_fields": ["法律編號"],
        "output_fields": [],
        "supported_filter_fields": LAW_FILTERS,
        "laws": page,
    }
    aggs = [v for k, v in params if k == "agg" and v in LAW_FILTERS]
    if aggs:
        body["aggs"] = [lyapi.buckets(laws, lambda law, name: law.get(name), agg) for agg in aggs]
    return body


# --- routing ----------------------------------------------------------------------------------


def route(data: ReplayData, path: str, params: list[lyapi.Param]) -> Response:
    """Answer one GET: verbatim capture if one matches exactly, else a computed response.
    `params` are LYAPI's (replay/lyapi.py): a range token's value is a (from, to) pair."""
    if path == "/robots.txt":
        return 200, ROBOTS_TXT, {"Content-Type": "text/plain; charset=utf-8"}
    plain = [(k, v) for k, v in params if isinstance(v, str)]
    other_source = route_sources(data, path, plain)  # ppg, open data, lis
    if other_source is not None:
        return other_source
    captured = data.captures.get(capture_key(path, plain)) if len(plain) == len(params) else None
    if captured is not None:
        return 200, captured, {"Content-Type": JSON_TYPE}
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["moj"]:
        return moj.route(data.samples_dir, parts[1:]) or error_response(404, f"not found: {path}")
    if len(parts) < 2 or parts[0] != "v2":
        return error_response(404, f"not found: {path}")
    try:
        return route_v2(data, parts[1:], params)
    except WindowExceeded as exc:
        return error_response(413, str(exc))
    except BadRequest as exc:
        return error_response(400, str(exc))


def route_v2(data: ReplayData, parts: list[str], params: list[lyapi.Param]) -> Response:
    """Routes under /v2 (captured bodies were handled before)."""
    if data.scale is not None and (answer := scale_route(data.scale, parts, params, data.rules)) is not None:
        return answer
    match parts:
        case ["bills"]:
            return bill_list(data, params)
        case ["bills", bill_no]:
            return bill_detail(data, bill_no)
        case ["laws"]:
            return json_response(200, law_list(data, [(k, v) for k, v in params if isinstance(v, str)]))
        case ["laws", code]:
            return law_detail(data, code)
        case ["laws", code, "bills"] if code in data.laws:
            return bill_list(data, params, {"法律編號": [code]})
        case ["laws", code, "bills"]:
            return error_response(404, "找不到法律資料")
    return error_response(404, "not found: /v2/" + "/".join(parts))


def bill_detail(data: ReplayData, bill_no: str) -> Response:
    bill = data.bills.get(bill_no)
    if bill is None:
        return error_response(404, "找不到議案資料")
    return json_response(
        200,
        {
            "error": False,
            "id": [bill_no],
            "data": bill,
            "supported_relations": data.bill_relations,
            "relations": [],
        },
    )


def law_detail(data: ReplayData, code: str) -> Response:
    law = data.laws.get(code)
    if law is None:
        return error_response(404, "找不到法律資料")
    return json_response(
        200,
        {
            "error": False,
            "id": [code],
            "data": law,
            "supported_relations": data.law_relations,
            "relations": [],
        },
    )


def lookup_overlay(overlay: Overlay | None, path_qs: str, path: str) -> Response | None:
    """An injected response for "path?query" (exact) or "path", if the overlay has one."""
    if overlay is None:
        return None
    if callable(overlay):
        return overlay(path_qs)
    return overlay.get(path_qs) or overlay.get(path)


# --- server -----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Serves GET/HEAD from the ReplayServer that owns the HTTP server."""

    server_version = "billtracker-replay/1"
    replay: ReplayServer  # set on a per-server subclass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        path_qs = unquote(self.path)
        self.replay._record(path_qs)
        split = urlsplit(self.path)
        path = unquote(split.path)
        response = lookup_overlay(self.replay.overlay, path_qs, path)
        if response is None:
            try:
                params = lyapi.parse_query_string(split.query)
            except lyapi.ApiError as exc:
                response = error_response(exc.status, str(exc))
            else:
                response = route(self.replay.data, path, params)
        status, body, headers = response
        if status == RESET:  # fault injection: drop the connection with a TCP RST, no answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and crawls would drown in one line per request."""


class ReplayServer:
    """The replay on host:port (port 0 = any free port) in a daemon thread; a context manager."""

    def __init__(
        self,
        samples_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        overlay: Overlay | None = None,
        scale: int = 0,
        mutations: Iterable[int] = (),
        corpus: Corpus | None = None,
        rules: lyapi.Rules | None = None,
    ) -> None:
        # fails early, naming a missing samples path
        self.data = load_replay(samples_dir, corpus)
        if rules is not None:  # a narrower window or no default sort, for tests
            self.data.rules = rules
        if scale:  # a generated LYAPI-sized corpus answers bill lists and details
            self.data.scale = ScaleCorpus(self.data, scale, mutations=mutations)
        self.host = host
        self.port = port
        self.overlay = overlay
        self._requests: list[str] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[str]:
        """Decoded "path?query" of every request received so far (a snapshot copy)."""
        with self._lock:
            return list(self._requests)

    def _record(self, path_qs: str) -> None:
        with self._lock:
            self._requests.append(path_qs)

    def _make_httpd(self) -> ThreadingHTTPServer:
        handler = type("ReplayHandler", (_Handler,), {"replay": self})
        httpd = ThreadingHTTPServer((self.host, self.port), handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        return httpd

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ReplayServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._httpd is None:
            self._httpd = self._make_httpd()
            # shutdown() waits for the serve loop's next poll: 0.05 s, not the default 0.5 s a stop
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="replay-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self, announce: Callable[[str], None] = print) -> None:
        """Serve in the calling thread (the command line), announcing the bound URL."""
        self._httpd = self._make_httpd()
        announce(f"replaying {self.data.samples_dir} at {self.base_url}/v2")
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()
            self._httpd = None

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the replay in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Local replay of the ly.govapi.tw v2 API")
    parser.add_argument("--samples", help="samples dir (default: $BILLTRACKER_SAMPLES or repo's)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scale", type=int, default=0, help="serve N generated bills (150000 = LYAPI)")
    parser.add_argument("--corpus", help="also serve a corpus laid out like ../shared/corpus/ly-term9")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.corpus) if args.corpus else None
    server = ReplayServer(args.samples, host=args.host, port=args.port, scale=args.scale, corpus=corpus)
    try:
        server.serve_forever(lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
