"""SQL functions the schema's views call, registered on every connection billtracker opens.

Why: a fact derived from another is computed where it is read instead of stored twice. The
`search_texts` view keys the bills' titles and 案由 with `search_key` (the t2s map of
pipelines/normalise/search_keys.py) rather than keeping a converted copy of each (issue 12: 4 KB
of a 29 KB bill). The cost: a connection must register them before it reads such a view. open_db
and Datasette (billtracker/serve/plugins/api.py) do; a plain `sqlite3` reader calls
`register_functions(conn)` or reads the base tables, and otherwise gets "no such function".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from pipelines.normalise.search_keys import search_key


def _search_key(value: Any) -> str:
    return search_key(value if value is None or isinstance(value, str) else str(value))


FUNCTIONS: dict[str, Callable[..., Any]] = {"search_key": _search_key}


def register_functions(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Register every function the views call (deterministic: usable in indexes and WHERE)."""
    for name, function in FUNCTIONS.items():
        conn.create_function(name, 1, function, deterministic=True)
    return conn
