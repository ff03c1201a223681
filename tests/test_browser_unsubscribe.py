"""Real browser: a digest mailed through a real SMTP server (aiosmtpd) links to `billtracker serve`
(a subprocess on a free 127.0.0.1 port); headless Chromium opens the link from the received
message and clicks the button, as a person would. Chromium is driven over its DevTools pipe
(--remote-debugging-pipe: NUL-separated JSON on file descriptors 3 and 4), so the click is a
real click in a real page, with no driver library."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import sqlite3
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from billtracker.alerts.digests import load_digests, send_digests
from billtracker.alerts.unsubscribe import address_key
from tests.alerts_helpers import Inbox, add_changes, free_port, make_db
from tests.test_browser_home import serve
from tests.test_browser_pages import FLAGS, SHOTS, chromium
from tests.test_unsubscribe import KEY_ENV, SIGNING_KEY, link_of, unsubscribes, write_digests

pytestmark = [pytest.mark.browser]


class DevTools:
    """Chromium with its DevTools protocol on a pipe: send a command, wait for its answer."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # above 10 first, so that placing them at 3 and 4 cannot overwrite each other
        high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)

        def at_3_and_4() -> None:
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [chromium(), *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=at_3_and_4,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (to_browser_r, from_browser_w, high_r, high_w):
            os.close(fd)
        self._next_id = 0
        self._buffer = b""
        self.session = ""

    def call(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        answer = self.answer(method, timeout, **params)
        assert "error" not in answer, (method, answer["error"])
        return answer["result"]

    def answer(self, method: str, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """The whole answer to one command, an error included."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._next_id:
                    return answer
            assert time.monotonic() < deadline, f"no answer to {method} in {timeout} s"
            chunk = os.read(self._from_browser, 65536)
            assert chunk, "Chromium closed its DevTools pipe"
            self._buffer += chunk

    def open(self, url: str) -> None:
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            # Between the click's POST and its answer the page has no document to evaluate in:
            # Chromium answers "Cannot find default execution context" (or "... was destroyed").
            answer = self.answer("Runtime.evaluate", expression=expression, returnByValue=True)
            error = answer.get("error", {}).get("message", "")
            assert not error or "execution context" in error, (expression, error)
            value = None if error else answer["result"]["result"].get("value")
            if value:
                return value
            assert time.monotonic() < deadline, f"{expression} stayed falsy for {timeout} s"
            time.sleep(0.1)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        os.close(self._to_browser)
        os.close(self._from_browser)


def shows(state: str) -> str:
    """True once the page that says `state` has loaded (the click's answer replaces the page)."""
    main = "document.querySelector('#bt-main')"
    return f"document.readyState === 'complete' && {main}?.dataset.state === '{state}'"


def test_the_link_opened_in_chromium_unsubscribes_at_the_click(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "billtracker.db"
    make_db(db_path).close()
    add_changes(db_path, 1)
    inbox, smtp_port = Inbox(), free_port()
    config = write_digests(tmp_path / "digests.toml", smtp_port)
    monkeypatch.setenv("BILLTRACKER_DIGESTS", str(config))
    monkeypatch.setenv(KEY_ENV, SIGNING_KEY)
    proc, base = serve(db_path, "2026-12-03")
    browser = DevTools(tmp_path / "profile")
    try:
        config.write_text(config.read_text().replace("https://bt.example", base), encoding="utf-8")
        controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        try:
            assert send_digests(db_path, load_digests(config), date(2026, 12, 3))["sent"] == 2
        finally:
            controller.stop()
        link = link_of(inbox.messages[0])
        assert link.startswith(f"{base}/-/unsubscribe?t=")

        browser.open(link)
        assert browser.wait_for(shows("confirm"))
        assert "取消訂閱電子郵件摘要" in browser.evaluate("document.querySelector('h1').innerText")
        assert unsubscribes(db_path) == []  # opening the page recorded nothing
        browser.evaluate("document.querySelector('form.bt-unsubscribe-form button').click()")
        assert browser.wait_for(shows("done"))
        assert "已取消訂閱" in browser.evaluate("document.querySelector('h1').innerText")
        assert unsubscribes(db_path) == [("cio-daily", address_key(inbox.recipients[0][0]), "page")]
        shot = browser.call("Page.captureScreenshot", format="png")["data"]
        SHOTS.mkdir(exist_ok=True)
        (SHOTS / "unsubscribed.png").write_bytes(base64.b64decode(shot))
    finally:
        browser.close()
        proc.terminate()
        proc.wait(timeout=10)
    with sqlite3.connect(db_path) as conn:  # the write went to the live file, committed
        assert conn.execute("select count(*) from unsubscribes").fetchone()[0] == 1
