"""The schema's migrations: one ordered list, applied in that order, each exactly once."""

from __future__ import annotations

import ast
from pathlib import Path

from pipelines.schema import MIGRATIONS, migrations, open_db

REPO = Path(__file__).resolve().parent.parent

# The order a fresh database applies them in, pinned: a change here changes every new database.
PINNED = [
    "m001_core",
    "m002_search",
    "m003_problem_recurrence",
    "m005_bill_law_codes",
    "i5_articles",
    "i11_backfill_ledger",
    "i6_bills_fts_update_of_text",
    "i4_scrape_runs",
    "i4_history",
    "i4_watches",
    "i4_change_kinds",
    "m004_moj_laws",
    "i10_law_version_export",
    "i3_sources",
    "i3_lis_law_versions",
    "i10_corrections",
    "i10_evidence",
    "i10_problem_key",
    "i10_problem_resolved",
    "i11_missed_requests",
    "i6_law_bills_last_on",
    "i6_bills_recent_fts",
    "i14_webhooks",
    "i14_digests",
]


def test_a_fresh_database_applies_the_list_in_its_order(tmp_path: Path) -> None:
    db = open_db(tmp_path / "fresh.db")
    applied = [r["name"] for r in db.query("SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    assert applied == [name for name, _ in MIGRATIONS] == PINNED
    assert [m.name for m in migrations._migrations] == PINNED


def test_every_migration_function_is_in_the_list_once() -> None:
    """A schema/ function no list entry names would never run; one named twice would clash."""
    listed = [f"{fn.__module__}.{fn.__name__}" for _, fn in MIGRATIONS]
    assert len(set(listed)) == len(listed)
    defined = set()
    for path in sorted((REPO / "pipelines" / "schema").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            # a migration takes the database as its one argument and returns nothing
            if isinstance(node, ast.FunctionDef) and [a.arg for a in node.args.args] == ["db"]:
                if isinstance(node.returns, ast.Constant) and node.returns.value is None:
                    defined.add(f"pipelines.schema.{path.stem}.{node.name}")
    assert defined - set(listed) == set(), "schema functions no migration applies"
    assert defined == set(listed)


def test_no_schema_module_imports_the_list() -> None:
    """schema/__init__.py imports the schema modules; one importing it back would be a circle."""
    for path in (REPO / "pipelines" / "schema").glob("[!_]*.py"):
        text = path.read_text(encoding="utf-8")
        assert "from pipelines.schema import" not in text and "import pipelines.schema\n" not in text, path
