"""Real parts for the webhook tests: a database with bills, watches and matched changes written
as a crawl writes them, and an HTTP receiver on 127.0.0.1 that verifies every signature.

`python -m tests.alerts_helpers PORT LOG` runs the receiver as a process of its own (to be
killed with -9): it appends each new event id to LOG, fsynced, before it answers 200, and skips
ids already in LOG: what a receiver deduplicating by id does.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlite_utils

from billtracker.alerts.signing import EVENT_ID_HEADER, verify
from pipelines.schema import open_db

HOOK_KEY = "test-only-hook-key"  # the HMAC secret the tests' receivers share
ENV = "HOOK_KEY_TESTS"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_db(path: Path, watches: tuple[str, ...] = ("cio", "org")) -> sqlite_utils.Database:
    db = open_db(path)
    db["watches"].insert_all(
        [
            {"name": w, "kind": "keyword", "value": w, "title": f"watch {w}", "updated_at": "t"}
            for w in watches
        ]
    )
    db["bills"].insert(
        {
            "bill_no": "1051006070201100",
            "title": "行政院組織法第六條條文修正草案",
            "current_stage": "committee-review",
            "current_stage_label": "委員會審查",
            "current_stage_on": "2016-10-13",
            "current_stage_derived": 0,
            "current_stage_evidence": "議案流程 2016-10-13 委員會審查 (LYAPI)",
            "current_stage_caveat": "資料截至 2016-12-01；此後未知",
            "as_of": "2016-12-01T00:00:00Z",
        },
        alter=True,
    )
    db["stages"].insert(
        {
            "bill_no": "1051006070201100",
            "seq": 3,
            "stage": "committee-review",
            "status_raw": "委員會審查",
            "origin": "lyapi",
            "on": "2016-10-13",
            "evidence_kind": "flow",
            "evidence": "議案流程 #3",
        },
        alter=True,
    )
    return db


def add_changes(
    db_path: Path, n: int, watch: str = "cio", start: int = 0, detected_at: str = "2026-12-02T00:00:00Z"
) -> list[int]:
    """n stage-added changes of the bill matched to `watch`, in one transaction (as a crawl's);
    detected 08:00 on 2 December in Taipei unless `detected_at` says otherwise."""
    db = sqlite_utils.Database(db_path)
    db.execute("PRAGMA busy_timeout = 30000")
    ids = []
    with db.conn:
        for i in range(start, start + n):
            detail = {"seq": 3, "status_raw": "委員會審查", "on": "2016-10-13"}
            cur = db.conn.execute(
                "insert into changes (bill_no, kind, old_value, new_value, stage, committee, detail,"
                " detected_at, run_id) values (?, 'stage-added', null, ?, 'committee-review', '', ?, ?, 1)",
                [
                    "1051006070201100",
                    f"委員會審查 #{i}",
                    json.dumps(detail, ensure_ascii=False),
                    detected_at,
                ],
            )
            ids.append(cur.lastrowid)
            db.conn.execute(
                "insert into change_watches (change_id, watch) values (?, ?)", [cur.lastrowid, watch]
            )
    db.close()
    return ids


def write_config(path: Path, subs: list[tuple[str, str, str]]) -> Path:
    """subs: (name, watch, url)."""
    text = "".join(
        f'[[subscription]]\nname = "{n}"\nwatch = "{w}"\nurl = "{u}"\nsecret_env = "{ENV}"\n\n'
        for n, w, u in subs
    )
    path.write_text(text, encoding="utf-8")
    return path


class Receiver(ThreadingHTTPServer):
    """Records every verified POST; `fail` answers 500 to the first N, `slow` sleeps `delay`
    before answering the first N (longer than the sender's timeout)."""

    daemon_threads = True

    def __init__(self, fail: int = 0, slow: int = 0, delay: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail, self.slow, self.delay = fail, slow, delay
        self.received: list[dict[str, Any]] = []  # every request, verified or not
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def acked(self) -> list[str]:
        return [r["event_id"] for r in self.received if r["status"] == 200]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify(HOOK_KEY, self.headers, body)
        with self.server.lock:
            n = len(self.server.received)
            status = 401 if not ok else 500 if n < self.server.fail else 200
            slow = n < self.server.slow
            if not ok:
                self.server.bad_signatures += 1
            self.server.received.append(
                {
                    "event_id": self.headers[EVENT_ID_HEADER],
                    "status": status,
                    "body": json.loads(body),
                    "at": time.time(),
                }
            )
        if slow:
            time.sleep(self.server.delay)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Inbox:
    """An aiosmtpd handler keeping every message it receives (the digest tests' mailbox)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[attr-defined]
        self.recipients.append(list(envelope.rcpt_tos))  # type: ignore[attr-defined]
        return "250 OK"


def _serve_to_log(port: int, log: Path) -> None:
    seen = set(log.read_text().split()) if log.exists() else set()
    handle = open(log, "a")  # noqa: SIM115 - open for the process's life

    class Logging(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if not verify(HOOK_KEY, self.headers, body):
                self.send_response(401)
            else:
                event = self.headers[EVENT_ID_HEADER]
                if event not in seen:  # deduplicate by id: the at-least-once window
                    handle.write(f"{event} {json.loads(body)['change']['id']}\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                    seen.add(event)
                time.sleep(0.002)
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Logging)
    server.serve_forever()


if __name__ == "__main__":
    _serve_to_log(int(sys.argv[1]), Path(sys.argv[2]))
