"""A corpus of bad input through the real engine: truncated and concatenated JSON, HTML, Big5 and
BOM bodies, a 50 MB body, JSON nested 100,000 deep, a wrong type in every field of a bill, ROC
dates that name no day. No crash; each recorded in `problems`; the good data untouched.

The overlay answers a list page for term 99 naming one synthetic bill per case, and each case's
detail; the good data is a copy of the shared crawl of the samples.
Property-based tests (hypothesis) cover the date parser and the stage normaliser.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CIO_BILL, run_crawl
from hypothesis import given
from hypothesis import strategies as st

from billtracker.replay import ReplayServer, load_replay
from pipelines.normalise.dates import BadDate, parse_date
from scrapers.stages import LABELS, classify

JSON = {"Content-Type": "application/json; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
WRONG_BY_TYPE: dict[type, Any] = {str: [1, 2], list: "not a list", int: "九", dict: 7}


def detail(record: dict[str, Any]) -> bytes:
    return json.dumps({"error": False, "data": record}, ensure_ascii=False).encode()


def build_cases(base: dict[str, Any]) -> dict[str, tuple[bytes, dict[str, str]]]:
    """bill_no -> (body, headers). Numbers 999... so they never collide with real bills."""
    cases: dict[str, tuple[bytes, dict[str, str]]] = {}

    def add(n: int, record_or_body: dict[str, Any] | bytes, headers: dict[str, str] = JSON) -> str:
        bill_no = f"999{n:013d}"
        if isinstance(record_or_body, dict):
            record_or_body = detail({**record_or_body, "議案編號": bill_no})
        cases[bill_no] = (record_or_body, headers)
        return bill_no

    good = detail(base)
    add(1, good[: len(good) // 2])  # truncated
    add(2, good + good)  # two JSON documents concatenated
    add(
        3,
        b"<!DOCTYPE html><html><body><h1>\xe7\xb3\xbb\xe7\xb5\xb1\xe7\xb6\xad\xe8\xad\xb7</h1></body></html>",
        HTML,
    )
    add(
        4,
        json.dumps(
            {"error": False, "data": {**base, "議案編號": "9990000000000004"}}, ensure_ascii=False
        ).encode("big5", "replace"),
    )
    add(6, b'{"error": false, "data": "' + b"x" * (50 * 1024 * 1024) + b'"}')  # 50 MB
    add(7, b"[" * 100_000 + b"]" * 100_000)  # deeply nested
    n = 100
    for name, value in base.items():
        if name == "議案編號":
            continue
        wrong = WRONG_BY_TYPE.get(type(value), [1]) if value is not None else {"x": 1}
        add(n, {**base, name: wrong})  # one wrong field per bill
        n += 1
    add(n, {k: (v if k == "議案編號" else WRONG_BY_TYPE.get(type(v), 3.5)) for k, v in base.items()})
    flow_wrong = [
        {"日期": 5, "狀態": None, "會期": 9, "院會/委員會": ["院會"]},
        "not an entry",
        {"日期": [1050230]},
    ]
    add(n + 1, {**base, "議案流程": flow_wrong})
    add(n + 2, {**base, "提案日期": "1050230", "最新進度日期": "99999"})  # ROC dates naming no day
    add(n + 3, {**base, "議案流程": [{**base["議案流程"][0], "日期": ["1050230", "99999"]}]})
    return cases


BOM_BILL = "9990000000000005"


@pytest.fixture(scope="module")
def bad_crawl(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path, crawled_db: Path):
    base = load_replay(samples_dir).bills[CIO_BILL]
    cases = build_cases(base)
    bom = b"\xef\xbb\xbf" + detail({**base, "議案編號": BOM_BILL})
    listing = {
        "total": len(cases) + 1,
        "total_page": 1,
        "page": 1,
        "limit": 1000,
        "bills": [{"議案編號": no} for no in [*cases, BOM_BILL]],
    }

    def overlay(path_qs: str):  # type: ignore[no-untyped-def]
        if path_qs.startswith("/v2/bills?") and "屆=99" in path_qs:
            return 200, json.dumps(listing).encode(), JSON
        bill_no = path_qs.removeprefix("/v2/bills/")
        if bill_no == BOM_BILL:
            return 200, bom, JSON
        return (200, *cases[bill_no]) if bill_no in cases else None

    db = tmp_path_factory.mktemp("bad") / "bad.db"
    shutil.copy(crawled_db, db)
    with ReplayServer(samples_dir, overlay=overlay) as server:
        result = run_crawl(db, server.base_url, queries=[{"屆": 99}])
    return result, db, cases


@pytest.mark.slow
def test_no_crash(bad_crawl):
    result, _, _ = bad_crawl
    # Issue 11: the six unreadable bodies lost their bills, so the run is partial and exits 1.
    assert result.returncode == 1, result.stderr[-3000:]
    assert "crawl partial:" in result.stdout
    assert "spider_exceptions" not in result.stderr
    assert "Spider error processing" not in result.stderr


@pytest.mark.slow
def test_unreadable_bodies_are_missed_wrong_fields_are_not(bad_crawl):
    """A body that is not a bill record loses the bill; a record with wrong field types is stored
    with its problems and loses nothing."""
    _, db, cases = bad_crawl
    unreadable = list(cases)[:6]  # truncated, concatenated, HTML, Big5, 50 MB, nested
    with sqlite3.connect(db) as conn:
        run_id, status, missed = conn.execute(
            "SELECT id, status, missed FROM scrape_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        urls = [u for (u,) in conn.execute("SELECT url FROM missed_requests WHERE run_id = ?", [run_id])]
    assert (status, missed) == ("partial", 6)
    assert sorted(u.rsplit("/", 1)[-1] for u in urls) == sorted(unreadable)


@pytest.mark.slow
def test_every_bad_case_is_a_problem(bad_crawl):
    _, db, cases = bad_crawl
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, url, bill_no FROM problems").fetchall()
    missing = [
        no for no in cases if not any(bill_no == no or url.endswith("/" + no) for _, url, bill_no in rows)
    ]
    assert missing == []


@pytest.mark.slow
def test_problem_kinds_name_the_condition(bad_crawl):
    _, db, cases = bad_crawl
    with sqlite3.connect(db) as conn:
        kinds = {
            bill_no or url.rsplit("/", 1)[-1]: kind
            for kind, url, bill_no in conn.execute("SELECT kind, url, bill_no FROM problems ORDER BY id DESC")
        }
    nos = list(cases)
    assert kinds[nos[0]] == "malformed-json"  # truncated
    assert kinds[nos[1]] == "malformed-json"  # concatenated
    assert kinds[nos[2]] == "block-page"  # HTML
    assert kinds[nos[3]] == "bad-encoding"  # Big5
    assert kinds[nos[4]] in {"network", "too-large"}  # 50 MB: cancelled above download_maxsize
    assert kinds[nos[5]] == "malformed-json"  # nested
    with sqlite3.connect(db) as conn:
        wrong = conn.execute(
            "SELECT count(DISTINCT bill_no) FROM problems WHERE kind = 'wrong-type'"
        ).fetchone()[0]
        bad_dates = conn.execute(
            "SELECT message FROM problems WHERE kind IN ('bad-date', 'doubtful-date')"
        ).fetchall()
    assert wrong >= len(cases) - 8
    assert any("1050230" in m for (m,) in bad_dates) and any("99999" in m for (m,) in bad_dates)


@pytest.mark.slow
def test_bom_body_is_read(bad_crawl):
    _, db, _ = bad_crawl
    with sqlite3.connect(db) as conn:
        bom, cio = (
            conn.execute("SELECT title FROM bills WHERE bill_no = ?", [no]).fetchone()
            for no in (BOM_BILL, CIO_BILL)
        )
    assert bom == cio


@pytest.mark.slow
def test_good_data_untouched(bad_crawl, crawled_db: Path):
    _, db, cases = bad_crawl
    queries = {
        "bills": "SELECT * FROM bills WHERE bill_no NOT LIKE '999%' ORDER BY bill_no",
        "stages": "SELECT * FROM stages WHERE bill_no NOT LIKE '999%' ORDER BY bill_no, seq",
        "sponsors": "SELECT * FROM sponsors WHERE bill_no NOT LIKE '999%' ORDER BY bill_no, role, seq",
    }
    with sqlite3.connect(db) as after, sqlite3.connect(crawled_db) as before:
        for sql in queries.values():
            assert after.execute(sql).fetchall() == before.execute(sql).fetchall()
        assert after.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- properties -------------------------------------------------------------------------------

# The Legislative Yuan first sat in ROC 37 (1948); ROC years have 2-3 digits in its data.
days = st.dates(min_value=date(1948, 1, 1), max_value=date(2910, 12, 31))


@given(days)
def test_roc_forms_round_trip(day: date):
    roc = day.year - 1911
    expected = day.isoformat()
    assert parse_date(f"{roc}/{day.month}/{day.day}") == expected
    assert parse_date(f"{roc}年{day.month}月{day.day}日") == expected
    assert parse_date(f" {day.isoformat()} ") == expected
    assert parse_date(f"{roc:03d}{day.month:02d}{day.day:02d}") == expected


@given(st.text(max_size=30))
def test_any_text_is_a_day_none_or_bad_date(value: str):
    try:
        parsed = parse_date(value)
    except BadDate as exc:
        assert repr(value.strip()) in str(exc)
        return
    assert parsed is None or date.fromisoformat(parsed)


@given(days, st.integers(min_value=1, max_value=40))
def test_impossible_days_are_bad_dates(day: date, extra: int):
    roc = day.year - 1911
    last = (date(day.year + day.month // 12, day.month % 12 + 1, 1) - timedelta(days=1)).day
    if last + extra > 99:
        return
    with pytest.raises(BadDate):
        parse_date(f"{roc}/{day.month}/{last + extra}")


raw_statuses = st.sampled_from(["交付審查", "三讀", "排入院會(交內政委員會)", "撤案", "繼續審查", "審查完畢"])


@given(st.text(max_size=40))
def test_classify_any_text_is_a_known_slug(value: str):
    assert classify(value) in LABELS


@given(raw_statuses, st.sampled_from(["", " ", "\u3000", "  \t"]), st.sampled_from(["", " ", "\u3000"]))
def test_classify_ignores_surrounding_blanks(raw: str, before: str, after: str):
    assert classify(before + raw + after) == classify(raw) != "unknown"
