"""A sqlite-utils Database that remembers the schema between writes, for the crawl's store.

sqlite-utils asks SQLite for the table list and PRAGMA table_info on every insert/upsert/update
(profile of a 1,500-bill backfill: ~100 statements per bill, 70% of them schema lookups). Bills
are written in plain SQL now (pipelines/rawsql.py); what the store still writes through
sqlite-utils (MOJ law texts and versions, watches) keeps the cache. Within
one crawl the schema is fixed once migrations ran, so the answers are cached; any CREATE, ALTER or
DROP through this object clears the cache, so a table created mid-crawl is still seen.
"""

from __future__ import annotations

import re
from typing import Any

import sqlite_utils

_SCHEMA_READ = re.compile(
    r"^\s*(PRAGMA (table_info|table_xinfo|foreign_key_list|index_list)|select (name|sql) from sqlite_master)",
    re.I,
)
_SCHEMA_WRITE = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.I)


class _Rows:
    """Just enough of a cursor for sqlite-utils' schema lookups: fetchall, fetchone, iteration."""

    def __init__(self, rows: list[Any], description: Any) -> None:
        self.rows = rows
        self.description = description

    def fetchall(self) -> list[Any]:
        return list(self.rows)

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self.rows))


class SchemaCachedDatabase(sqlite_utils.Database):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schema_cache: dict[tuple[str, str], _Rows] = {}

    def execute(self, sql: str, parameters: Any = None) -> Any:  # type: ignore[override]
        if _SCHEMA_WRITE.match(sql):
            self._schema_cache.clear()
        elif _SCHEMA_READ.match(sql):
            key = (sql, repr(parameters))
            cached = self._schema_cache.get(key)
            if cached is None:
                cursor = super().execute(sql, parameters) if parameters else super().execute(sql)
                cached = self._schema_cache[key] = _Rows(cursor.fetchall(), cursor.description)
            return cached
        return super().execute(sql, parameters) if parameters is not None else super().execute(sql)

    def executescript(self, sql: str) -> Any:  # type: ignore[override]
        self._schema_cache.clear()
        return super().executescript(sql)
