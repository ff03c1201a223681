"""The schema's migrations: one ordered list, applied in that order, each exactly once."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest

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
    "i12_one_search_index",
    "i14_unsubscribes",
    "i12_search_texts_from_bills",
    "i12_bill_versions_packed",
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


def test_a_database_of_three_indexes_migrates_to_one(
    tmp_path: Path, samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database the code before issue 12 wrote (every migration before i12_one_search_index: bills_fts by
    bills.rowid, bills_recent_fts, search_texts_fts, and their triggers) becomes one index on the
    next open: the old tables and triggers gone, every bill indexed under its recency key, and
    the API's search, Datasette's table search and the search page answering as a scan does."""
    import asyncio
    import copy
    import sqlite3

    from sqlite_utils.migrations import Migrations

    import pipelines.schema as schema
    from billtracker.replay import load_replay
    from billtracker.serve.datasette import datasette_app
    from billtracker.serve.read.search import search as page_search
    from pipelines.normalise.search_keys import search_key
    from pipelines.schema.api import ROWID_SPAN
    from pipelines.schema.functions import register_functions
    from pipelines.store.pipeline import StorePipeline
    from tests.test_store import bill_item

    before = Migrations("billtracker")
    names = [name for name, _ in MIGRATIONS]
    for name, apply in MIGRATIONS[: names.index("i12_one_search_index")]:
        before(name=name)(apply)
    monkeypatch.setattr(schema, "migrations", before)
    path = tmp_path / "billtracker.db"
    store = StorePipeline(str(path), date(2026, 11, 26))
    store.open_spider()
    for record in load_replay(samples_dir).bills.values():
        store.process_item(bill_item(copy.deepcopy(record)))
    store.close_spider()
    old = sqlite3.connect(path)
    old_tables = {n for (n,) in old.execute("select name from sqlite_master")}
    assert {"bills_recent_fts", "search_texts_fts", "bills_recent_fts_au", "bills_au"} <= old_tables
    old.close()

    monkeypatch.setattr(schema, "migrations", migrations)
    open_db(path).close()
    conn = register_functions(sqlite3.connect(path))  # the search_texts view's search_key
    conn.row_factory = sqlite3.Row
    names = {n for (n,) in conn.execute("select name from sqlite_master")}
    assert (
        not {"bills_recent_fts", "bills_recent_vocab", "search_texts_fts", "bills_au", "search_texts_ai"}
        & names
    )
    assert {"bills_fts", "bills_fts_vocab", "bills_fts_ai", "bills_fts_ad", "bills_fts_au"} <= names
    conn.execute("insert into bills_fts (bills_fts) values ('integrity-check')")
    bills = conn.execute("select rowid, bill_no, filed_on, title, reason from bills").fetchall()
    assert conn.execute("select count(*) from bills_fts where rowid > 0").fetchone()[0] == len(bills) > 20
    articles = conn.execute("select count(*) from search_texts where field = 'articles'").fetchone()[0]
    assert conn.execute("select count(*) from bills_fts where rowid < 0").fetchone()[0] == articles > 0
    for b in bills:
        key = int((b["filed_on"] or "0").replace("-", "")) * ROWID_SPAN + b["rowid"]
        phrase = '"' + b["title"][1:7].replace('"', '""') + '"'
        assert conn.execute(
            "select count(*) from bills_fts where bills_fts match ? and rowid = ?", [phrase, key]
        )
    texts = conn.execute("select bill_no, key from search_texts").fetchall()
    for q in ("組織法", "资讯", "資訊總處", "法"):
        needle = search_key(q)
        hits = {b["bill_no"] for b in page_search(conn, q, limit=1000)}
        assert hits == {t["bill_no"] for t in texts if needle in t["key"]}, q

    async def api(q: str) -> list[str]:
        response = await datasette_app(path).client.get(f"/billtracker/search.json?q={q}&_shape=array")
        return [r["bill_no"] for r in response.json()]

    for q in ("組織法", "資訊", "審"):
        scan = [
            b["bill_no"]
            for b in sorted(bills, key=lambda b: (b["filed_on"] or "", b["rowid"]), reverse=True)
            if q in (b["title"] or "") or q in (b["reason"] or "")
        ]
        assert asyncio.run(api(q)) == scan[:200], q
    # Article rows follow their search_texts row: an edited text is found by its new words only,
    # a deleted one not at all, and the index stays consistent.
    first = "select bill_no, rowid from search_texts where field = 'articles'"
    bill_no, rowid = conn.execute(first).fetchone()
    edit = "update search_texts set text = '第九條鯨豚保育', key = '第九条鲸豚保育' where rowid = ?"
    conn.execute(edit, [rowid])
    assert [b["bill_no"] for b in page_search(conn, "鯨豚保育")] == [bill_no]
    conn.execute("delete from search_texts where rowid = ?", [rowid])
    assert page_search(conn, "鯨豚保育") == []
    conn.execute("insert into bills_fts (bills_fts) values ('integrity-check')")
    conn.close()
