"""Plain sqlite3 statements for the store's hot path, built once per table and column set.

sqlite-utils builds its INSERT/UPSERT text, checks the schema and converts values on every call:
in a 3,000-bill backfill that was ~75% of the store's CPU (bench/bench_store.py). Rows here are
dicts bound by name (`:column`), so sqlite3 reads values straight from them; the statement text
is cached here and its compiled form in sqlite3's per-connection statement cache. The semantics
are sqlite-utils' own: an upsert is `INSERT ... ON CONFLICT(pk) DO UPDATE` of the given columns
(rowid kept, FTS triggers fire as for an UPDATE), other columns keep their stored values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

Row = dict[str, Any]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@lru_cache(maxsize=256)
def insert_sql(table: str, columns: tuple[str, ...], or_ignore: bool = False) -> str:
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join(f":{c}" for c in columns)
    return f"INSERT{' OR IGNORE' if or_ignore else ''} INTO {quote(table)} ({names}) VALUES ({values})"


@lru_cache(maxsize=256)
def upsert_sql(table: str, columns: tuple[str, ...], pk: tuple[str, ...]) -> str:
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in pk)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return f"{insert_sql(table, columns)} ON CONFLICT({', '.join(quote(c) for c in pk)}) {action}"


@lru_cache(maxsize=256)
def update_sql(table: str, columns: tuple[str, ...], pk: tuple[str, ...]) -> str:
    sets = ", ".join(f"{quote(c)} = ?" for c in columns)
    return f"UPDATE {quote(table)} SET {sets} WHERE {' AND '.join(f'{quote(c)} = ?' for c in pk)}"


def insert(conn: sqlite3.Connection, table: str, rows: Sequence[Row], or_ignore: bool = False) -> int | None:
    """Insert rows that share one set of keys; returns the last rowid (one row: its id)."""
    if not rows:
        return None
    sql = insert_sql(table, tuple(rows[0]), or_ignore)
    if len(rows) == 1:
        return conn.execute(sql, rows[0]).lastrowid
    conn.executemany(sql, rows)
    return None


def upsert(conn: sqlite3.Connection, table: str, rows: Sequence[Row], pk: tuple[str, ...]) -> None:
    """Insert or update by primary key rows that share one set of keys."""
    if rows:
        conn.executemany(upsert_sql(table, tuple(rows[0]), pk), rows)


def update(conn: sqlite3.Connection, table: str, key: Row, values: Row) -> int:
    """Set these columns of the row whose primary key is `key` ({column: value}), as sqlite-utils'
    table.update(pk, values) did; returns the rows changed (0: no such row, not an error here)."""
    if not values:
        return 0
    sql = update_sql(table, tuple(values), tuple(key))
    return conn.execute(sql, [*values.values(), *key.values()]).rowcount


def select(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    """Rows as dicts, as sqlite-utils' rows_where gave them."""
    cursor = conn.execute(sql, tuple(params))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def select_one(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> Row | None:
    rows = select(conn, sql, params)
    return rows[0] if rows else None


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """sqlite-utils' Database.atomic() with one fixed savepoint name (it draws a random one per
    call): a transaction when none is open, else a savepoint that a failure rolls back alone.
    SQLite resolves a repeated name to the innermost savepoint, so nesting works."""
    if not conn.in_transaction:
        conn.execute("BEGIN")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
        return
    conn.execute("SAVEPOINT item")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # an error can end the transaction, savepoints and all
            conn.execute("ROLLBACK TO SAVEPOINT item")
            conn.execute("RELEASE SAVEPOINT item")
        raise
    conn.execute("RELEASE SAVEPOINT item")
