"""Issue 6's serving schema (pipelines/schema/api.py) and the two canned queries built on it.

`law_bills` reads bill_laws.last_on and `search` reads bills_fts (the one search index, issue 12);
SQLite triggers keep both in step with whatever writes stages, bill_laws and bills. Checked here:
on small databases written statement by statement (every trigger path), on the real crawls of the
replay (the store and reconcile as they are), and through Datasette in-process: paging law_bills
by its Link header returns exactly the rows of the old correlated-max query in order; search
returns exactly the bills a substring scan finds, newest filed first.
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import sqlite_utils
import yaml

from billtracker.paths import REPO_ROOT
from billtracker.serve.datasette import datasette_app
from billtracker.serve.plugins.api import LAW_BILLS_PAGE_SIZE
from pipelines.schema import open_db
from pipelines.schema.api import ROWID_SPAN

# The query law_bills answered before issue 6 (every row, no page), ordered as it orders now.
OLD_LAW_BILLS = """
select bl.bill_no, (select max(s."on") from stages s where s.bill_no = bl.bill_no and s.origin != 'derived')
  as last_on
from bill_laws bl left join laws l on l.law_code = bl.law_code
where bl.law_code = :law or l.name = :law
order by coalesce(last_on, '') desc, bl.bill_no desc
"""
SPEC = yaml.safe_load((REPO_ROOT / "billtracker" / "openapi.yaml").read_text(encoding="utf-8"))


def get(db_path: Path, path: str) -> Any:
    async def go() -> Any:
        return await datasette_app(db_path).client.get(path)

    return asyncio.run(go())


def stale_last_on(conn: sqlite3.Connection | sqlite_utils.Database) -> list[tuple]:
    """bill_laws rows whose last_on differs from max(on) of the bill's non-derived stages."""
    return list(
        conn.execute(
            """select bl.bill_no, bl.law_code, bl.last_on from bill_laws bl
               where bl.last_on != coalesce((select max(s."on") from stages s
                 where s.bill_no = bl.bill_no and s.origin != 'derived'), '')"""
        )
    )


def add_bill(db: sqlite_utils.Database, bill_no: str, filed_on: str | None, title: str = "") -> None:
    db.execute(
        "insert into bills (bill_no, title, term, proposer_text, filed_on, current_stage, "
        "current_stage_label, current_stage_on, current_stage_derived) values (?, ?, 11, '本院委員', ?, "
        "'referred', '交付審查', ?, 0)",
        [bill_no, title or f"「測試法第{bill_no[-3:]}條條文修正草案」，請審議案。", filed_on, filed_on],
    )


def add_stage(
    db: sqlite_utils.Database, bill_no: str, seq: int, on: str | None, origin: str = "flow"
) -> None:
    db.execute(
        'insert into stages (bill_no, seq, stage, origin, "on") values (?, ?, ?, ?, ?)',
        [bill_no, seq, "expired" if origin == "derived" else "referred", origin, on],
    )


@pytest.fixture
def fresh(tmp_path: Path) -> sqlite_utils.Database:
    return open_db(tmp_path / "billtracker.db")


def test_a_new_database_has_the_triggers(fresh: sqlite_utils.Database) -> None:
    """A later migration that rebuilt stages, bill_laws or bills (sqlite-utils transform) would drop
    them silently; this fails first."""
    triggers = {name for (name,) in fresh.execute("select name from sqlite_master where type = 'trigger'")}
    assert {
        "bill_laws_last_on_ai",
        "bill_laws_last_on_au",
        "stages_last_on_ai",
        "stages_last_on_au",
        "stages_last_on_ad",
        "bills_fts_ai",
        "bills_fts_ad",
        "bills_fts_au",
    } <= triggers
    assert "idx_bill_laws_law_last_on" in {i.name for i in fresh["bill_laws"].indexes}


def test_last_on_follows_every_write(fresh: sqlite_utils.Database) -> None:
    db = fresh
    add_bill(db, "201100000000001", "2024-03-01")
    db.execute("insert into bill_laws (bill_no, law_code) values ('201100000000001', '01010')")
    assert db.execute("select last_on from bill_laws").fetchone()[0] == ""  # no stage yet
    add_stage(db, "201100000000001", 1, "2024-03-05")
    add_stage(db, "201100000000001", 2, "2024-06-01")
    add_stage(db, "201100000000001", 3, "2024-04-01")  # out of order: the maximum stays
    add_stage(db, "201100000000001", 4, None)
    add_stage(db, "201100000000001", 1000, "2028-01-31", origin="derived")  # expiry is not a date seen
    assert db.execute("select last_on from bill_laws").fetchone()[0] == "2024-06-01"
    db.execute("""update stages set "on" = '2024-02-01' where seq = 2""")  # a corrected date
    assert db.execute("select last_on from bill_laws").fetchone()[0] == "2024-04-01"
    db.execute("delete from stages where seq = 3")
    assert db.execute("select last_on from bill_laws").fetchone()[0] == "2024-03-05"
    # Stages before the bill's laws (another writer's order): the new bill_laws row reads them.
    add_bill(db, "201100000000002", "2024-03-02")
    add_stage(db, "201100000000002", 1, "2024-05-05")
    db["bill_laws"].upsert({"bill_no": "201100000000002", "law_code": "01010"}, pk=("bill_no", "law_code"))
    db["bill_laws"].insert({"bill_no": "201100000000002", "law_code": "04502"}, replace=True)
    # The store's way: an upsert of every column, unchanged, then one that changes the date.
    row = next(db["stages"].rows_where("bill_no = ?", ["201100000000002"]))
    db["stages"].upsert(row, pk=("bill_no", "seq"))
    db["stages"].upsert({**row, "on": "2024-07-07"}, pk=("bill_no", "seq"))
    assert dict(db.execute("select law_code, last_on from bill_laws where bill_no = '201100000000002'")) == {
        "01010": "2024-07-07",
        "04502": "2024-07-07",
    }
    assert not stale_last_on(db)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["cli_crawl", "history_crawl"])
def test_last_on_is_right_after_real_crawls(request: pytest.FixtureRequest, fixture: str) -> None:
    """Every spider and reconcile (cli_crawl); a second, incremental crawl that added stages
    (history_crawl)."""
    value = request.getfixturevalue(fixture)
    db_path = value[0] if fixture == "cli_crawl" else value["db"]
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        assert conn.execute("select count(*) from bill_laws where last_on != ''").fetchone()[0] > 0
        assert stale_last_on(conn) == []
        # bills_fts holds every bill once, under its current recency key (its article rows aside).
        assert (
            conn.execute("select count(*) from bills_fts where rowid > 0").fetchone()
            == conn.execute("select count(*) from bills").fetchone()
        )
        for rowid, filed_on, title in conn.execute("select rowid, filed_on, title from bills"):
            key = int((filed_on or "0").replace("-", "")) * ROWID_SPAN + rowid
            phrase = '"' + title[1:7].replace('"', '""') + '"'
            found = conn.execute(
                "select count(*) from bills_fts where bills_fts match ? and rowid = ?",
                [phrase, key],
            ).fetchone()[0]
            assert found == 1, (rowid, title)


def many_bills(db_path: Path, n: int) -> None:
    """n bills amending one law filed under two codes with the same name: dates with ties, some
    bills without any dated stage."""
    db = open_db(db_path)
    db["laws"].insert_all(
        [{"law_code": "90001", "name": "測試組織法"}, {"law_code": "90002", "name": "測試組織法"}],
        pk="law_code",
    )
    for i in range(n):
        bill_no = f"2011{i:011d}"
        add_bill(db, bill_no, f"2024-{1 + i % 12:02d}-01")
        db.execute("insert into bill_laws (bill_no, law_code) values (?, ?)", [bill_no, f"9000{1 + i % 2}"])
        if i % 7:
            add_stage(db, bill_no, 1, f"2024-{1 + i % 12:02d}-{1 + i % 5:02d}")
    db.conn.commit()


@pytest.mark.parametrize("law", ["測試組織法", "90001"])
def test_law_bills_pages_through_every_bill(tmp_path: Path, law: str) -> None:
    db_path = tmp_path / "billtracker.db"
    many_bills(db_path, 250)
    with sqlite3.connect(db_path) as conn:
        expected = [tuple(r) for r in conn.execute(OLD_LAW_BILLS, {"law": law})]
    assert len(expected) == (250 if law == "測試組織法" else 125)
    spec = SPEC["paths"]["/billtracker/law_bills.json"]["get"]["responses"]["200"]
    schema = {**spec["content"]["application/json"]["schema"], "components": SPEC["components"]}
    seen: list[tuple] = []
    url, pages = f"/billtracker/law_bills.json?law={quote(law)}&_shape=array", 0
    while url:
        response = get(db_path, url)
        assert response.status_code == 200, response.text
        jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)
        seen += [(r["bill_no"], r["last_on"]) for r in response.json()]
        link = response.headers.get("link")
        url = link.split(">")[0].lstrip("<").split("localhost", 1)[-1] if link else ""
        pages += 1
    assert seen == expected  # every bill once, in order: latest date first, undated last
    assert pages == math.ceil(len(expected) / LAW_BILLS_PAGE_SIZE)


def test_law_bills_page_size_is_the_query_limit() -> None:
    import json

    from billtracker.paths import METADATA

    sql = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["billtracker"]["queries"]["law_bills"]
    assert f"limit {LAW_BILLS_PAGE_SIZE})" in sql["sql"]
    assert (
        SPEC["paths"]["/billtracker/law_bills.json"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["maxItems"]
        == LAW_BILLS_PAGE_SIZE
    )


def scan(conn: sqlite3.Connection, q: str) -> list[str]:
    """What search must return: every bill whose title or 案由 contains q, newest filed first."""
    return [
        r[0]
        for r in conn.execute(
            """select bill_no from bills where instr(title, :q) or instr(reason, :q)
               order by coalesce(filed_on, '') desc, rowid desc limit 200""",
            {"q": q},
        )
    ]


def search(db_path: Path, q: str) -> list[dict[str, Any]]:
    response = get(db_path, f"/billtracker/search.json?q={quote(q)}&_shape=array")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_search_equals_a_substring_scan(cli_crawl: tuple[Path, str]) -> None:
    """Three or more characters (trigram phrase), two and one (the trigrams they begin), a phrase
    at the very end of titles (。), one no bill holds; ordered newest filed first."""
    db_path = cli_crawl[0]
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        ending = conn.execute("select substr(title, -2) from bills where title != '' limit 1").fetchone()[0]
        for q in ("行政院組織法", "資訊總處", "資訊", "長照", "審", "法", ending, "鯨魚", "「"):
            hits = search(db_path, q)
            assert [h["bill_no"] for h in hits] == scan(conn, q), q
            assert [h["filed_on"] or "" for h in hits] == sorted(
                (h["filed_on"] or "" for h in hits), reverse=True
            )
        assert search(db_path, "") == [] and search(db_path, "鯨魚") == []


def test_search_stops_at_the_200_newest(tmp_path: Path) -> None:
    db_path = tmp_path / "billtracker.db"
    many_bills(db_path, 250)
    with sqlite3.connect(db_path) as conn:
        for q in ("測試法", "測試", "測"):
            hits = [h["bill_no"] for h in search(db_path, q)]
            assert len(hits) == 200 and hits == scan(conn, q), q


@pytest.mark.slow
def test_search_follows_title_changes_and_deletes(cli_crawl: tuple[Path, str], tmp_path: Path) -> None:
    db_path = tmp_path / "billtracker.db"
    sqlite_utils.Database(cli_crawl[0]).execute("VACUUM INTO ?", [str(db_path)])
    conn = sqlite3.connect(db_path)
    bill_no, title = conn.execute("select bill_no, title from bills where title like '%組織法%'").fetchone()
    conn.execute(
        "update bills set title = ?, filed_on = '2030-01-01' where bill_no = ?", ["鯨豚保育法草案", bill_no]
    )
    conn.execute("update bills set current_stage = 'withdrawn'")  # not indexed: no re-index, no harm
    other = next(b for b in scan(conn, "法") if b != bill_no)  # the newest other hit of 法
    conn.execute("delete from bills where bill_no = ?", [other])
    conn.commit()
    conn.execute("insert into bills_fts (bills_fts) values ('integrity-check')")  # raises if not
    for q in ("鯨豚保育", "鯨豚", "鯨", "組織法", title[1:5], "法"):
        assert [h["bill_no"] for h in search(db_path, q)] == scan(conn, q), q
    assert [h["bill_no"] for h in search(db_path, "鯨豚保育")] == [bill_no]
    assert other not in {h["bill_no"] for h in search(db_path, "法")}
    conn.close()


def test_page_rows_reads_the_last_row_without_decoding_the_page() -> None:
    """A title that quotes the marker text cannot fool the count: quotes in JSON strings are escaped."""
    import json

    from billtracker.serve.plugins.api import page_rows

    rows = [
        {"bill_no": f"20110000000000{i}", "title": '{"bill_no": "x"} 「法」', "last_on": None}
        for i in range(3)
    ]
    body = json.dumps(rows, ensure_ascii=False).encode()
    assert page_rows(body, "law_bills") == (3, rows[-1])
    default_shape = json.dumps({"columns": ["bill_no"], "rows": [["1"], ["2"]]}).encode()
    assert page_rows(default_shape, "law_bills") == (2, {"bill_no": "2"})
    assert page_rows(b"[]", "law_bills") == (0, None)


@pytest.mark.slow
@pytest.mark.parametrize("q", ["組織法", "组织法", "資訊", "長照", "年满十八岁", "组织", "资", "法", "。"])
def test_search_page_picks_its_bills_in_sql(cli_crawl: tuple[Path, str], q: str) -> None:
    """The staffers' search (/-/search) chooses and orders its page in SQL before reading texts:
    the same bills, order and matching fields as reading every matching text (limit 3 and 100)."""
    from billtracker.serve.read.search import search as page_search
    from pipelines.normalise.search_keys import search_key
    from pipelines.schema.functions import register_functions

    conn = register_functions(sqlite3.connect(f"file:{cli_crawl[0]}?mode=ro", uri=True))
    conn.row_factory = sqlite3.Row
    needle = search_key(q)
    texts = [r for r in conn.execute("select bill_no, field, key from search_texts") if needle in r["key"]]
    fields = {b: {r["field"] for r in texts if r["bill_no"] == b} for b in {r["bill_no"] for r in texts}}
    ordered = [
        r[0]
        for r in conn.execute(
            f"select bill_no from bills where bill_no in ({','.join('?' * len(fields))}) "
            "order by current_stage_on desc, bill_no",
            list(fields),
        )
    ]
    assert ordered, q
    for limit in (3, 100):
        got = page_search(conn, q, limit=limit)
        assert [b["bill_no"] for b in got] == ordered[:limit], q
        assert all({m["field"] for m in b["matches"]} == fields[b["bill_no"]] for b in got)
    conn.close()


@pytest.mark.slow
def test_datasette_table_search_reads_the_one_index(cli_crawl: tuple[Path, str]) -> None:
    """Datasette's own ?_search on `bills` (its fts_table search of bills_fts by bills.rowid before
    issue 12) finds exactly the bills whose title or 案由 holds every term; ?_search_title only
    titles; raw mode takes FTS5 syntax; the table page still offers its search box. (Passes on the
    code before issue 12 too: the behaviour is Datasette's, only the index under it changed.)"""
    db_path = cli_crawl[0]

    def found(args: str) -> set[str]:
        response = get(db_path, f"/billtracker/bills.json?{args}&_shape=array&_size=max&_col=bill_no")
        assert response.status_code == 200, response.text
        return {r["bill_no"] for r in response.json()}

    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        texts = "select bill_no, coalesce(title, ''), coalesce(reason, '') from bills"
        bills = conn.execute(texts).fetchall()
    for q in ("組織法", "資訊總處", "資訊 總處", "行政院組織法 第六條", "鯨魚"):
        terms = q.split()  # a trigram index matches no term under 3 characters (as before)
        expected = {b for b, t, r in bills if all(len(x) >= 3 and (x in t or x in r) for x in terms)}
        assert found(f"_search={quote(q)}") == expected, q
    assert found(f"_search_title={quote('組織法')}") == {b for b, t, _ in bills if "組織法" in t}
    raw = {b for b, t, r in bills if "資訊總處" in t + r or "設置管理條例" in t + r}
    assert found(f"_search={quote('資訊總處 OR 設置管理條例')}&_searchmode=raw") == raw
    assert found("_search=" + quote("組織法")) and found("") == {b for b, _, _ in bills}
    page = get(db_path, "/billtracker/bills")
    assert page.status_code == 200 and 'name="_search"' in page.text
