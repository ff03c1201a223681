"""How billtracker serves a database with Datasette, shared by `billtracker serve` and the tests.

datasette_metadata.json describes the database under the name "billtracker"; Datasette names a
database after its file, so the metadata is re-keyed to whatever file is being served.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from billtracker.paths import METADATA

METADATA_DB_NAME = "billtracker"

# Datasette settings decided on purpose: suggested facets cost ~1 s per table JSON request
# (DESIGN.md measurements); a query gets 3 s at most.
SETTINGS: dict[str, Any] = {
    "suggest_facets": False,
    "sql_time_limit_ms": 3000,
    # Public deployment (docs/security.md). Arbitrary SQL off: the canned queries and table
    # pages are the interface, and one visitor's 3 s self-join per request is a cheap DoS.
    "default_allow_sql": False,
    # Datasette's default, decided: a page of JSON never holds more than 1,000 rows; bigger
    # answers page with `_next` / the Link header.
    "max_returned_rows": 1000,
    # The 150 MB file is not served from the web app (a published snapshot can sit on a CDN).
    "allow_download": False,
    # CSV streaming of a whole table bypasses max_returned_rows and runs past sql_time_limit_ms.
    "allow_csv_stream": False,
}


def metadata_for(db_path: str | Path, metadata_path: Path = METADATA) -> dict[str, Any]:
    """The project's metadata with its database section keyed by the served file's name."""
    metadata = json.loads(Path(metadata_path).read_text(encoding="utf-8"))
    name = Path(db_path).stem
    databases = metadata.get("databases", {})
    if name != METADATA_DB_NAME and METADATA_DB_NAME in databases:
        databases[name] = databases.pop(METADATA_DB_NAME)
    return metadata


def write_metadata_for(db_path: str | Path, out_dir: Path) -> Path:
    out = out_dir / "metadata.json"
    out.write_text(json.dumps(metadata_for(db_path), ensure_ascii=False), encoding="utf-8")
    return out


def datasette_app(db_path: str | Path):  # type: ignore[no-untyped-def]
    """An in-process Datasette with exactly the settings `billtracker serve` uses."""
    from datasette.app import Datasette

    return Datasette(
        files=[str(db_path)],
        metadata=metadata_for(db_path),
        settings=SETTINGS,
        cors=True,
    )


def datasette_args(db: str, port: int, host: str, metadata: Path) -> list[str]:
    args = [sys.executable, "-m", "datasette", "serve", db, "--metadata", str(metadata)]
    args += ["--host", host, "--port", str(port), "--cors"]
    for key, value in SETTINGS.items():
        value = {True: "on", False: "off"}.get(value, value)
        args += ["--setting", key, str(value)]
    return args
