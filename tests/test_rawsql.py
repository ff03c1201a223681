"""pipelines/rawsql.py on a real SQLite file: sqlite-utils' upsert and atomic() semantics, kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pipelines.rawsql import atomic, insert, select, update, upsert, upsert_sql


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute('CREATE TABLE t (a TEXT, b INTEGER, "on" TEXT, note TEXT, PRIMARY KEY (a, b))')
    return conn


def test_upsert_updates_only_the_given_columns_and_keeps_the_rowid(conn: sqlite3.Connection) -> None:
    insert(conn, "t", [{"a": "x", "b": 1, "on": "2016-10-14", "note": "kept"}])
    insert(conn, "t", [{"a": "y", "b": 1, "on": None}])
    upsert(conn, "t", [{"a": "x", "b": 1, "on": "2016-10-18"}, {"a": "z", "b": 2, "on": None}], ("a", "b"))
    assert select(conn, "select rowid, * from t order by rowid") == [
        {"rowid": 1, "a": "x", "b": 1, "on": "2016-10-18", "note": "kept"},
        {"rowid": 2, "a": "y", "b": 1, "on": None, "note": None},
        {"rowid": 3, "a": "z", "b": 2, "on": None, "note": None},
    ]


def test_upsert_of_key_columns_only_does_nothing_on_conflict(conn: sqlite3.Connection) -> None:
    assert upsert_sql("t", ("a", "b"), ("a", "b")).endswith("DO NOTHING")
    upsert(conn, "t", [{"a": "x", "b": 1}, {"a": "x", "b": 1}], ("a", "b"))
    assert conn.execute("select count(*) from t").fetchone() == (1,)


def test_insert_of_one_row_returns_its_rowid(conn: sqlite3.Connection) -> None:
    assert insert(conn, "t", [{"a": "x", "b": 1}]) == 1
    insert(conn, "t", [{"a": "x", "b": 1}], or_ignore=True)  # already there: ignored
    assert insert(conn, "t", []) is None
    assert conn.execute("select count(*) from t").fetchone() == (1,)


def test_update_sets_the_given_columns_of_one_row(conn: sqlite3.Connection) -> None:
    insert(conn, "t", [{"a": "x", "b": 1, "on": "2016-10-14", "note": "kept"}])
    insert(conn, "t", [{"a": "x", "b": 2}])
    assert update(conn, "t", {"a": "x", "b": 1}, {"on": "2016-10-18"}) == 1
    assert update(conn, "t", {"a": "x", "b": 9}, {"on": "2016-10-18"}) == 0  # no such row
    assert update(conn, "t", {"a": "x", "b": 1}, {}) == 0
    assert select(conn, 'select b, "on", note from t order by b') == [
        {"b": 1, "on": "2016-10-18", "note": "kept"},
        {"b": 2, "on": None, "note": None},
    ]


def test_nested_atomic_rolls_back_only_the_failing_block(conn: sqlite3.Connection) -> None:
    with atomic(conn):  # a transaction
        insert(conn, "t", [{"a": "kept", "b": 1}])
        with pytest.raises(OverflowError), atomic(conn):  # a savepoint
            insert(conn, "t", [{"a": "gone", "b": 1}])
            with atomic(conn):  # the same savepoint name, nested
                insert(conn, "t", [{"a": "gone too", "b": 10**30}])
        insert(conn, "t", [{"a": "after", "b": 1}])
    assert not conn.in_transaction
    assert [r["a"] for r in select(conn, "select a from t order by rowid")] == ["kept", "after"]


def test_atomic_transaction_rolls_back_everything_on_failure(conn: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError), atomic(conn):
        insert(conn, "t", [{"a": "x", "b": 1}])
        insert(conn, "t", [{"a": "x", "b": 1}])
    assert not conn.in_transaction
    assert conn.execute("select count(*) from t").fetchone() == (0,)
