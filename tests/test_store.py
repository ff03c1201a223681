"""StorePipeline on a real SQLite file: idempotent, never loses a stored fact, searchable in Chinese."""

from __future__ import annotations

import copy
import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from billtracker.replay import ReplayData, load_replay
from pipelines.schema import migrations, open_db
from pipelines.store.pipeline import StorePipeline
from scrapers.items import BillItem, FetchItem, LawItem, ProblemItem, Provenance

TODAY = date(2026, 11, 26)
CIO_BILL = "1051006070201100"
TABLES = ["bills", "stages", "sponsors", "laws", "bill_laws", "related_bills", "documents", "problems"]


@pytest.fixture(scope="module")
def replay_data(samples_dir: Path) -> ReplayData:
    return load_replay(samples_dir)


def bill_item(record: dict[str, Any], fetched_at: str = "2026-11-26T01:00:00Z") -> BillItem:
    bill_no = record["議案編號"]
    prov = Provenance(f"http://replay/v2/bills/{bill_no}", fetched_at, "cd" * 32, "tw_ly_bills")
    return BillItem(bill_no, record, prov)


class Store:
    """A StorePipeline run: open, feed items, close -- as the Scrapy engine drives it."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.path = path
        self.options = options

    def run(self, *items: Any) -> dict[str, int]:
        pipeline = StorePipeline(str(self.path), TODAY, **self.options)
        pipeline.open_spider()
        for item in items:
            assert pipeline.process_item(item) is item
        pipeline.close_spider()
        return pipeline.counts

    def counts(self) -> dict[str, int]:
        db = sqlite_utils.Database(self.path)
        return {t: db[t].count for t in TABLES}

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        with sqlite3.connect(self.path) as conn:
            return conn.execute(sql, params or []).fetchall()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield Store(tmp_path / "billtracker.db")


def cio(replay_data: ReplayData) -> dict[str, Any]:
    """The CIO bill's record as live LYAPI serves it: captured now, after term 9 ended."""
    return {**copy.deepcopy(replay_data.bills[CIO_BILL]), "資料抓取時間": "2026-11-26T09:00:00+08:00"}


def test_insert_then_same_item_again_is_a_noop(store: Store, replay_data: ReplayData) -> None:
    first = store.run(bill_item(cio(replay_data)))
    assert (first["inserted"], first["updated"], first["noop"]) == (1, 0, 0)
    before = store.counts()
    assert before["bills"] == 1 and before["stages"] == 5 and before["sponsors"] == 20
    stored = store.rows("SELECT * FROM bills")
    # same record, fetched later: nothing to write
    second = store.run(bill_item(cio(replay_data), fetched_at="2026-11-27T01:00:00Z"))
    assert (second["inserted"], second["updated"], second["noop"]) == (0, 0, 1)
    assert store.counts() == before
    assert store.rows("SELECT * FROM bills") == stored


def test_changed_record_is_an_update(store: Store, replay_data: ReplayData) -> None:
    store.run(bill_item(cio(replay_data)))
    first_seen = store.rows("SELECT first_seen_at FROM bills")[0][0]
    record = cio(replay_data)
    record["議案流程"].append(
        {"日期": ["2017-05-01"], "狀態": "繼續審查", "會期": "", "院會/委員會": "司法及法制委員會"}
    )
    counts = store.run(bill_item(record))
    assert (counts["inserted"], counts["updated"], counts["noop"]) == (0, 1, 0)
    assert store.rows("SELECT count(*) FROM bills") == [(1,)]
    assert store.rows("SELECT first_seen_at FROM bills")[0][0] == first_seen
    assert store.rows('SELECT stage, "on" FROM stages WHERE seq = 4') == [("committee-review", "2017-05-01")]
    assert store.counts()["sponsors"] == 20  # replaced, not doubled


def test_record_without_flow_keeps_stored_stages(store: Store, replay_data: ReplayData) -> None:
    store.run(bill_item(cio(replay_data)))
    stages_before = store.rows("SELECT * FROM stages ORDER BY seq")
    current_before = store.rows("SELECT current_stage, current_stage_on, current_stage_derived FROM bills")
    assert current_before == [("expired", "2020-01-31", 1)]
    record = cio(replay_data)
    del record["議案流程"]
    counts = store.run(bill_item(record))
    assert counts["updated"] == 1
    assert store.rows("SELECT * FROM stages ORDER BY seq") == stages_before
    assert store.rows("SELECT current_stage, current_stage_on, current_stage_derived FROM bills") == (
        current_before
    )
    kinds = [k for (k,) in store.rows("SELECT kind FROM problems ORDER BY id")]
    assert kinds == ["no-stage-flow", "flow-vanished"]


def test_stage_missing_upstream_is_marked_gone_never_deleted(store: Store, replay_data: ReplayData) -> None:
    store.run(bill_item(cio(replay_data)))
    record = cio(replay_data)
    record["議案流程"] = record["議案流程"][:2]  # 尚未審查 no longer listed
    store.run(bill_item(record))
    rows = store.rows("SELECT seq, stage, gone_at FROM stages ORDER BY seq")
    assert [(seq, stage) for seq, stage, _ in rows] == [
        (0, "filed"),
        (1, "first-reading"),
        (2, "referred"),
        (3, "committee-listed"),
        (1000, "expired"),
    ]
    gone = {seq: gone_at for seq, _, gone_at in rows}
    assert gone[3] is not None and gone[3].endswith("Z")
    assert [seq for seq, at in gone.items() if at] == [3]
    # upstream lists it again: no longer gone
    store.run(bill_item(cio(replay_data)))
    assert store.rows("SELECT gone_at FROM stages WHERE seq = 3") == [(None,)]


def test_fetches_laws_and_problems_items(store: Store) -> None:
    fetch = FetchItem(
        "http://replay/v2/laws/01010", 200, "2026-11-26T01:00:00Z", "ef" * 32, 10, "tw_ly_bills"
    )
    law = LawItem(
        "01010",
        {"法律編號": "01010", "名稱": "行政院組織法", "法律狀態": "現行", "類別": "母法"},
        Provenance("http://replay/v2/laws/01010", "2026-11-26T01:00:00Z", "ef" * 32, "tw_ly_bills"),
    )
    problem = ProblemItem("http-404", "HTTP 404", "http://replay/v2/bills/0", "tw_ly_bills", "0")
    counts = store.run(fetch, law, problem)
    assert (counts["laws"], counts["problems"]) == (1, 1)
    assert store.rows("SELECT url, status, content_sha256 FROM fetches") == [
        ("http://replay/v2/laws/01010", 200, "ef" * 32)
    ]
    assert store.rows("SELECT name, status, content_sha256 FROM laws") == [
        ("行政院組織法", "現行", "ef" * 32)
    ]
    # the same problem on the next run is one row, counted twice
    store.run(problem)
    assert store.rows("SELECT kind, times FROM problems") == [("http-404", 2)]


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = open_db(path)
    applied = [r["name"] for r in db["_sqlite_migrations"].rows]
    schema = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    db.close()
    db = open_db(path)  # second open: nothing to apply, nothing fails, nothing changes
    assert [r["name"] for r in db["_sqlite_migrations"].rows] == applied
    # every registered migration (issues add their own, e.g. i3_sources) applied once, in order
    assert applied == [m.name for m in migrations._migrations] and migrations.pending(db) == []
    assert applied[:3] == ["m001_core", "m002_search", "m003_problem_recurrence"]
    assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert {"bills", "stages", "sponsors", "problems", "bills_fts"} <= set(db.table_names())
    db.close()


def test_wal_mode(store: Store, replay_data: ReplayData) -> None:
    store.run(bill_item(cio(replay_data)))
    assert store.rows("PRAGMA journal_mode") == [("wal",)]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("資訊總處", {"1051006070201100", "1051006070201200", "1051027070200800"}),
        ("資訊長", {"1051006070201100", "1051006070201200"}),  # only inside 案由
        ("設置管理條例", {"1051006070201300", "1051027070201100"}),  # inside titles
    ],
)
def test_trigram_search_finds_chinese_substrings(
    tmp_path: Path, replay_data: ReplayData, term: str, expected: set[str]
) -> None:
    store = Store(tmp_path / "fts.db")
    store.run(*(bill_item(copy.deepcopy(r)) for r in replay_data.bills.values()))
    found = {
        bill_no
        for (bill_no,) in store.rows(
            "SELECT bills.bill_no FROM bills_fts JOIN bills ON bills.rowid = bills_fts.rowid % 10000000 "
            "WHERE bills_fts MATCH ?",
            [f'"{term}"'],
        )
    }
    assert expected <= found
    like = {b for (b,) in store.rows("SELECT bill_no FROM bills WHERE title || reason LIKE ?", [f"%{term}%"])}
    assert found == like  # the index agrees with a full scan


def stable_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table but its wall-clock columns (*_at: when this run wrote it)."""
    out = {}
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table.startswith(("bills_fts", "sqlite_", "_")) or table in ("watches", "scrape_runs"):
                continue
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            kept = [c for c in columns if not c.endswith("_at") and c not in ("id", "rowid")]
            if kept:
                select = ", ".join(f'"{c}"' for c in kept)
                out[table] = sorted(map(repr, conn.execute(f'SELECT {select} FROM "{table}"')))
    return out


def test_the_store_in_its_own_process_writes_what_the_store_in_the_crawl_writes(
    tmp_path: Path, replay_data: ReplayData
) -> None:
    """BILLTRACKER_STORE_PROCESS hands items to a child process (the bulk profile): same rows,
    same counts, and the child is gone once the spider closes."""
    prov = Provenance("http://replay/v2/laws/01010", "2026-11-26T01:00:00Z", "ab" * 32, "tw_ly_bills")
    items: list[Any] = [bill_item(copy.deepcopy(r)) for r in replay_data.bills.values()]
    items.insert(3, LawItem("01010", {"名稱": "行政院組織法", "法律狀態": "現行"}, prov))
    items.append(ProblemItem("http-500", "server error", "http://replay/v2/bills?page=9", "tw_ly_bills"))
    items += [bill_item(copy.deepcopy(r)) for r in replay_data.bills.values()]  # no-ops now
    here = Store(tmp_path / "here.db", batch_items=7)
    child = Store(tmp_path / "child.db", batch_items=7, store_process=True)
    assert child.run(*items) == here.run(*items)
    assert here.counts()["bills"] == len(replay_data.bills) and here.counts()["problems"] >= 1
    assert stable_rows(child.path) == stable_rows(here.path)
    assert not [p for p in multiprocessing.active_children() if p.name == "billtracker-store"]
