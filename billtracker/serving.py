"""How billtracker serves a database with Datasette, shared by `billtracker serve` and the tests.

datasette_metadata.json describes the database under the name "billtracker"; Datasette names a
database after its file, so the metadata is re-keyed to whatever file is being served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from billtracker.paths import METADATA

METADATA_DB_NAME = "billtracker"

# Datasette settings decided on purpose: suggested facets cost ~1 s per table JSON request
# (DESIGN.md measurements); a query gets 3 s at most.
SETTINGS: dict[str, Any] = {
    "suggest_facets": False,
    "sql_time_limit_ms": 3000,
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
