"""Keeps the markers honest: a test that launches Chromium, starts nginx or Scrapyd, sends SIGKILL
or starts a crawl subprocess fails unless it carries the marker for it (pyproject.toml lists
them; docs/development.md says what each means and which subset `./dev test --fast` runs).

What a test does is watched, not guessed: every `subprocess.Popen` (which `subprocess.run`,
`check_output` and asyncio's subprocesses go through) and every `os.kill` / `os.killpg` in the
test process is classified while the test and its fixtures are set up and run. A fixture that
launched something (a session-scoped crawl, say) passes that on to every test that uses it,
whichever test happened to set it up first, so a test is judged the same in the full suite and
in any subset of it. Loaded by tests/conftest.py (`pytest_plugins`); tests/test_markers.py
tests it. It also adds `--fast`, the subset with none of the markers, and says how long it took.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

import pytest

# marker -> what it stands for (the guard's message names it)
WHY = {
    "browser": "launches Chromium",
    "cluster": "starts nginx or Scrapyd",
    "faults": "sends SIGKILL (kill -9)",
    "slow": "starts a crawl subprocess",
}
# `pytest --fast` (`./dev test --fast`): the developer's subset, every test with none of these.
FAST_BUDGET_SECONDS = 60  # measured in docs/development.md
BROWSERS = {"chromium", "chromium-browser", "google-chrome", "chrome"}
CLUSTER = {"nginx", "scrapyd"}
# billtracker commands whose run starts `scrapy crawl` subprocesses (record and serve do not)
CRAWLING_COMMANDS = {"crawl", "backfill", "demo", "schedule", "up", "dispatch"}


def kinds_of_command(args: Any) -> set[str]:
    """The markers a process started with `args` (as given to Popen) requires."""
    if isinstance(args, (str, bytes, os.PathLike)):
        argv = [os.fsdecode(args)] if not isinstance(args, str) else args.split()
    else:
        argv = [os.fsdecode(a) for a in args]
    if not argv:
        return set()
    names = [PurePath(a).name for a in argv]
    kinds = set()
    if names[0] in BROWSERS:
        kinds.add("browser")
    if names[0] in CLUSTER or "scrapyd" in argv[1:3]:
        kinds.add("cluster")
    if "--help" in argv or "--version" in argv:
        return kinds
    if any(a == "scrapy" and b == "crawl" for a, b in zip(argv, argv[1:], strict=False)):
        kinds.add("slow")
    for i, name in enumerate(names[:3]):  # billtracker, python -m billtracker.cli, python -c ...
        if name in ("billtracker", "billtracker.cli") or (i == 2 and "billtracker.cli" in argv[2]):
            command = [a for a in argv[i + 1 :] if not a.startswith("-")][:1]
            if command and command[0] in CRAWLING_COMMANDS:
                kinds.add("slow")
            break
    return kinds


def kinds_of_signal(sig: int) -> set[str]:
    return {"faults"} if sig == signal.SIGKILL else set()


class Watch:
    """What the test process launched, in order; readers take their slice by position."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def add(self, kinds: set[str]) -> None:
        with self._lock:
            self.seen.extend(sorted(kinds))

    def since(self, mark: int) -> set[str]:
        with self._lock:
            return set(self.seen[mark:])


WATCH = Watch()
_real_popen_init = subprocess.Popen.__init__
_real_kill = os.kill
_real_killpg = os.killpg


def _popen_init(self: subprocess.Popen, args: Any, *rest: Any, **kwargs: Any) -> None:
    WATCH.add(kinds_of_command(args))
    _real_popen_init(self, args, *rest, **kwargs)


def _kill(pid: int, sig: int) -> None:
    WATCH.add(kinds_of_signal(sig))
    _real_kill(pid, sig)


def _killpg(pgid: int, sig: int) -> None:
    WATCH.add(kinds_of_signal(sig))
    _real_killpg(pgid, sig)


# fixture definition -> the markers what it launched requires
FIXTURE_KINDS: dict[int, set[str]] = {}
_call_start: dict[str, int] = {}
_started = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="run only the tests marked none of " + ", ".join(WHY) + " (under a minute; CI runs all)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--fast"):
        return
    keep = [item for item in items if not any(item.get_closest_marker(m) for m in WHY)]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_started] = time.monotonic()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not config.getoption("--fast") or _started not in config.stash:
        return
    took = time.monotonic() - config.stash[_started]
    over = (
        " -- OVER BUDGET: mark what made it slow (docs/development.md)" if took > FAST_BUDGET_SECONDS else ""
    )
    terminalreporter.write_line(f"fast subset: {took:.0f} s (budget {FAST_BUDGET_SECONDS} s){over}")


def pytest_configure(config: pytest.Config) -> None:
    subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]
    os.kill = _kill
    os.killpg = _killpg


def pytest_unconfigure(config: pytest.Config) -> None:
    subprocess.Popen.__init__ = _real_popen_init  # type: ignore[method-assign]
    os.kill = _real_kill
    os.killpg = _real_killpg


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> Iterator[Any]:
    mark = len(WATCH.seen)
    try:
        return (yield)
    finally:
        kinds = WATCH.since(mark)
        if kinds:
            FIXTURE_KINDS.setdefault(id(fixturedef), set()).update(kinds)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    _call_start[item.nodeid] = len(WATCH.seen)
    return (yield)


def required(item: pytest.Item, own: set[str]) -> set[str]:
    """What the test launched itself, plus what every fixture it used launched when set up: the
    fixtures of its signature, theirs, and any it asked for with request.getfixturevalue."""
    kinds = set(own)
    request = getattr(item, "_request", None)  # pytest's record of the fixtures resolved for it
    used = getattr(request, "_fixture_defs", None)
    assert used is not None, "pytest no longer keeps item._request._fixture_defs: update tests/markers.py"
    for fixturedef in used.values():
        kinds |= FIXTURE_KINDS.get(id(fixturedef), set())
    return kinds


def missing_markers(item: pytest.Item, kinds: set[str]) -> list[str]:
    marked = {m.name for m in item.iter_markers()}
    return sorted(kinds - marked)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    missing = missing_markers(item, required(item, WATCH.since(_call_start.pop(item.nodeid, 0))))
    if missing:
        reasons = "; ".join(f"@pytest.mark.{m}: it {WHY[m]}" for m in missing)
        pytest.fail(f"unmarked: {reasons} (itself or through a fixture; tests/markers.py)", pytrace=False)
    return result
