"""Bulk export: JSONL and CSV per table, a `VACUUM INTO` snapshot, and a manifest.

The snapshot is a consistent copy taken while crawls may write (WAL); read replicas should serve
it rather than the live file (Datasette's immutable mode ignores what is still in the WAL).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import sqlite_utils

from billtracker.serve.snapshot import compact_copy
from scrapers.clock import utc_now

SNAPSHOT = "billtracker.sqlite"
PACKED = {"bill_version_records"}  # binary rows a view (bill_versions) exports as text
# The views in the order of the table each stands for (its primary key).
VIEW_ORDER = {"bill_versions": "bill_no, version", "search_texts": "bill_no, field"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def exported_tables(db: sqlite_utils.Database) -> list[str]:
    """Real tables, and the views that stand where a table was (bill_versions, search_texts: their
    rows as Datasette shows them): FTS indexes and their shadow tables are rebuilt from `bills`,
    not data. `bill_version_records` holds bill_versions packed, so it is left to the snapshot."""
    fts = {t for t in db.table_names() if (db[t].virtual_table_using or "").startswith("FTS")}
    shadow = {t for t in db.table_names() if any(t.startswith(f"{f}_") for f in fts)}
    tables = [t for t in db.table_names() if t not in fts | shadow and not t.startswith("sqlite_")]
    return sorted([t for t in tables if t not in PACKED] + db.view_names())


def export(db_path: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write the export into out_dir (created) and return the manifest (also manifest.json)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    snapshot = out / SNAPSHOT
    if snapshot.exists():
        snapshot.unlink()  # VACUUM INTO refuses to overwrite
    compact_copy(Path(db_path), snapshot)
    # Everything below reads the snapshot, so the files agree with it and with each other.
    db = sqlite_utils.Database(snapshot)
    files: dict[str, Any] = {}
    tables: dict[str, int] = {}
    for table in exported_tables(db):
        view = table in db.view_names()
        columns = [c.name for c in (db.view(table) if view else db[table]).columns]
        keys = VIEW_ORDER.get(table, "rowid") if view else ", ".join(f"[{c}]" for c in db[table].pks)
        rows = list(db.query(f"select * from [{table}] order by {keys or 'rowid'}"))
        tables[table] = len(rows)
        jsonl = out / f"{table}.jsonl"
        with jsonl.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        with (out / f"{table}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    db.close()
    for path in sorted(out.iterdir()):
        if path.name != "manifest.json":
            files[path.name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    manifest = {"exported_at": utc_now(), "source": str(db_path), "tables": tables, "files": files}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest
