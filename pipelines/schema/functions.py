"""SQL functions the schema's views call, registered on every connection billtracker opens.

Why: a fact derived from another is computed where it is read instead of stored twice. The
`search_texts` view keys the bills' titles and 案由 with `search_key` (the t2s map of
pipelines/normalise/search_keys.py) rather than keeping a converted copy of each (issue 12: 4 KB
of a 29 KB bill), and the `bill_versions` view unpacks each record it reads
(pipelines/normalise/packed.py). The cost: a connection must register them before it reads such
a view. open_db and Datasette (billtracker/serve/plugins/api.py) do; a plain `sqlite3` reader calls
`register_functions(conn)` or reads the base tables, and otherwise gets "no such function".
sqlite-utils needs nothing: this module is its plugin (pyproject.toml's `sqlite_utils` entry
point), so every `sqlite_utils.Database` and the `sqlite-utils` command register them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import sqlite_utils

from pipelines.normalise.packed import pack_record, unpack_record
from pipelines.normalise.search_keys import search_key


def _search_key(value: Any) -> str:
    return search_key(value if value is None or isinstance(value, str) else str(value))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "search_key": _search_key,
    "pack_record": pack_record,
    "unpack_record": unpack_record,
}


def register_functions(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Register every function the views call (deterministic: usable in indexes and WHERE)."""
    for name, function in FUNCTIONS.items():
        conn.create_function(name, 1, function, deterministic=True)
    return conn


@sqlite_utils.hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    """sqlite-utils' plugin hook: every Database it opens can read the views."""
    register_functions(conn)
