"""Corrections as data (issue 10, item 7): the loader one broken entry at a time, and reconcile
applying, withdrawing and publishing real entries on a copy of the real replay crawl."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from bs4 import BeautifulSoup

from billtracker.paths import REPO_ROOT
from pipelines.reconcile import Reconciler, corrections
from pipelines.reconcile.corrections import DEFAULT_CORRECTIONS, FIELDS, KEYS, NOT_YET, BadCorrections, load
from tests.conftest import CIO_BILL, TODAY

PASSED_BILL = "1050219070203400"  # its 議案流程 ends 三讀 on 2016-11-18 (院會, 2016-11-18/22)

GOOD = {
    "bill": CIO_BILL,
    "field": "stage",
    "stage": "third-reading",
    "value": "2017-05-02",
    "why": "test: a record states the third reading",
    "source": "https://example.org/record/1",
    "reviewed_by": "a reviewer",
    "reviewed_on": "2026-12-01",
}


def toml_entry(entry: dict[str, Any]) -> str:
    """As a reviewer writes one: integers bare, reviewed_on a TOML date, the rest strings."""
    lines = ["[[correction]]"]
    for key, value in entry.items():
        bare = isinstance(value, int) or (key == "reviewed_on" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value))
        lines.append(f"{key} = {value if bare else json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def write(path: Path, *entries: dict[str, Any]) -> Path:
    path.write_text("# test corrections\n\n" + "\n".join(toml_entry(e) for e in entries), encoding="utf-8")
    return path


def only_error(tmp_path: Path, entry: dict[str, Any]) -> str:
    entries, _ = load(write(tmp_path / "c.toml", entry))
    assert len(entries) == 1
    assert len(entries[0].errors) == 1, entries[0].errors
    return entries[0].errors[0]


# --- the loader -----------------------------------------------------------------------------------


def test_a_good_entry_loads_with_toml_dates(tmp_path: Path) -> None:
    entries, sha = load(write(tmp_path / "c.toml", GOOD))
    (entry,) = entries
    assert entry.errors == ()
    assert (entry.bill_no, entry.field, entry.stage, entry.value) == (
        CIO_BILL,
        "stage",
        "third-reading",
        "2017-05-02",
    )
    assert entry.reviewed_on == "2026-12-01" and entry.line == 3 and entry.index == 1
    assert len(sha) == 64


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"field": "sponsor"}, "unknown field 'sponsor'"),
        ({"stage": "passed"}, "unknown stage slug 'passed'"),
        ({"stage": "expired"}, "stage 'expired' cannot be added"),
        ({"value": "2017-02-30"}, "`value` '2017-02-30' is not a date"),
        ({"value": "106/05/02"}, "`value` '106/05/02' is not a date"),
        ({"reviewed_on": "yesterday"}, "`reviewed_on` 'yesterday' is not a date"),
        ({"why": ""}, "missing `why`"),
        ({"source": " "}, "missing `source`"),
        ({"reviewed_by": None}, "missing `reviewed_by`"),
        ({"reviewed_on": None}, "missing `reviewed_on`"),
        ({"bill": "70委19631"}, "`bill` '70委19631' is not a 議案編號"),
        ({"colour": "red"}, "unknown key `colour`"),
        ({"seq": 3}, "`seq` does not apply to field 'stage'"),
    ],
)
def test_one_bad_thing_one_error(tmp_path: Path, change: dict[str, Any], error: str) -> None:
    entry = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    assert only_error(tmp_path, entry).startswith(error)


@pytest.mark.parametrize("field", sorted(NOT_YET))
def test_fields_reconcile_cannot_apply_honestly_are_refused_with_the_reason(
    tmp_path: Path, field: str
) -> None:
    entry = {**GOOD, "field": field, "value": "2016-10-11"}
    del entry["stage"]
    assert "ledger reads" in only_error(tmp_path, entry)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({}, "stage_date needs exactly one of `seq` and `raw`"),
        ({"seq": 5, "raw": "三讀"}, "stage_date needs exactly one of `seq` and `raw`"),
        ({"seq": "5"}, "`seq` must be a stage's seq"),
    ],
)
def test_stage_date_names_its_stage_once(tmp_path: Path, change: dict[str, Any], error: str) -> None:
    entry = {**GOOD, "bill": PASSED_BILL, "field": "stage_date", **change}
    assert only_error(tmp_path, entry).startswith(error)


def test_the_same_correction_twice_is_an_error_on_the_second(tmp_path: Path) -> None:
    entries, _ = load(write(tmp_path / "c.toml", GOOD, {**GOOD, "why": "again"}))
    assert entries[0].errors == ()
    assert entries[1].errors == ("corrects what entry #1 corrects",)
    assert entries[1].line == 13


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[correction]\nbill = 1\n", encoding="utf-8")
    with pytest.raises(BadCorrections, match=r"broken\.toml: not valid TOML"):
        load(path)
    path.write_text('[[corection]]\nbill = "1"\n', encoding="utf-8")
    with pytest.raises(BadCorrections, match=r"unknown top-level key\(s\) corection"):
        load(path)


def test_the_repository_file_is_valid_and_every_entry_is_reviewed() -> None:
    entries, _ = load(DEFAULT_CORRECTIONS)
    assert all(e.errors == () for e in entries)
    assert all(e.why and e.source and e.reviewed_by and e.reviewed_on for e in entries)


def test_docs_document_every_key_the_loader_accepts() -> None:
    section = (REPO_ROOT / "docs" / "corrections.md").read_text(encoding="utf-8")
    assert section.startswith("# Corrections\n")
    for key in KEYS:
        assert f"| `{key}` |" in section, key
    for field in FIELDS:
        assert f"`{field}`" in section, field
    for field in NOT_YET:
        assert f"`{field}`" in section, field


# --- reconcile ------------------------------------------------------------------------------------


@pytest.fixture
def dbfile(crawled_db: Path, tmp_path: Path) -> Path:
    """A private copy of the session's real replay crawl (which is read-only)."""
    target = tmp_path / "billtracker.db"
    with sqlite3.connect(crawled_db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


@pytest.fixture
def fulldbfile(full_crawled_db: Path, tmp_path: Path) -> Path:
    """A private copy of the every-spider crawl (lis, ppg, open data, MOJ beside LYAPI)."""
    target = tmp_path / "full.db"
    with sqlite3.connect(full_crawled_db) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def reconcile(db_path: Path, corrections_file: Path) -> dict[str, int]:
    db = sqlite_utils.Database(db_path)
    try:
        reconciler = Reconciler(db, date.fromisoformat(TODAY))
        reconciler.corrections_path = corrections_file
        return reconciler.run()
    finally:
        db.close()


def rows(db_path: Path, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


def bill(db_path: Path, bill_no: str) -> dict[str, Any]:
    return rows(db_path, "select * from bills where bill_no = ?", [bill_no])[0]


def published(db_path: Path, bill_no: str) -> list[dict[str, Any]]:
    return rows(
        db_path,
        "select * from stages where bill_no = ? and origin in ('flow', 'field') order by seq",
        [bill_no],
    )


def dump(db_path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db_path) as conn:
        return {t: sorted(map(tuple, conn.execute(f"select * from {t}")), key=repr) for t in tables}


@pytest.mark.slow
def test_a_stage_correction_moves_the_current_stage_and_edits_no_raw_row(
    dbfile: Path, tmp_path: Path
) -> None:
    before = bill(dbfile, CIO_BILL)
    # the records were captured in 2018: the bill stays at its last stage, "as of" then
    assert (before["current_stage"], before["current_stage_on"]) == ("committee-listed", "2017-03-22")
    raw_stages = published(dbfile, CIO_BILL)
    counts = reconcile(dbfile, write(tmp_path / "c.toml", GOOD))
    assert counts["corrections_applied"] == 1
    after = bill(dbfile, CIO_BILL)
    assert (after["current_stage"], after["current_stage_on"]) == ("third-reading", "2017-05-02")
    assert after["current_stage_evidence"] == "correction"
    for column in ("status_raw", "title", "filed_on", "record_sha256", "content_sha256", "source_url"):
        assert after[column] == before[column], column
    assert published(dbfile, CIO_BILL) == raw_stages  # every column of every published row
    (row,) = rows(dbfile, "select * from stages where bill_no = ? and origin = 'correction'", [CIO_BILL])
    assert (row["seq"], row["stage"], row["on"], row["source"], row["evidence_kind"]) == (
        3000,
        "third-reading",
        "2017-05-02",
        "correction",
        "correction",
    )
    assert row["evidence"] == (
        "c.toml #1: test: a record states the third reading (https://example.org/record/1), "
        "reviewed by a reviewer on 2026-12-01"
    )
    assert not rows(
        dbfile, "select 1 from stages where bill_no = ? and stage = 'expired' and gone_at is null", [CIO_BILL]
    )
    events = rows(
        dbfile, "select kind, old_value, new_value from changes where bill_no = ? order by id", [CIO_BILL]
    )
    assert events[-1] == {
        "kind": "current-stage-changed",
        "old_value": "committee-listed",
        "new_value": "third-reading",
    }
    assert not [e for e in events if e["kind"] == "stage-added" and "2017-05-02" in (e["new_value"] or "")]
    (published_row,) = rows(dbfile, "select * from corrections")
    assert (
        published_row["status"],
        published_row["stage_seq"],
        published_row["entry"],
        published_row["line"],
    ) == (
        "applied",
        3000,
        1,
        3,
    )
    assert published_row["applied_at"] and published_row["gone_at"] is None
    sources = rows(
        dbfile, "select source, role from stage_sources where bill_no = ? and seq = 3000", [CIO_BILL]
    )
    assert sources == [{"source": "correction", "role": "stored"}]


@pytest.mark.slow
def test_reconciling_again_with_the_same_file_writes_nothing(fulldbfile: Path, tmp_path: Path) -> None:
    dbfile = fulldbfile
    # lis reports the CIO bill's 尚未審查 on its published 2017-03-22: re-dating it must not turn
    # that report into a stage of its own, nor change anything on a second run
    redate = {**GOOD, "field": "stage_date", "stage": "committee-listed", "seq": 3, "value": "2017-03-23"}
    path = write(
        tmp_path / "c.toml", GOOD, redate, {**GOOD, "bill": "9999999999999999"}, {**GOOD, "field": "colour"}
    )
    live = "select count(*) as n from stages where gone_at is null"
    before = rows(dbfile, live)[0]["n"]
    reconcile(dbfile, path)
    assert rows(dbfile, live)[0]["n"] == before + 2  # the two corrected rows, nothing else
    tables = ("bills", "stages", "stage_sources", "corrections", "problems", "changes")
    first = dump(dbfile, tables)
    counts = reconcile(dbfile, path)
    assert "corrections_applied" not in counts and counts["changes"] == 0
    assert dump(dbfile, tables) == first


@pytest.mark.slow
def test_removing_the_entry_withdraws_what_it_applied(dbfile: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", GOOD)
    reconcile(dbfile, path)
    write(path)  # the file without the entry
    counts = reconcile(dbfile, path)
    assert counts["corrections_withdrawn"] == 1
    (row,) = rows(dbfile, "select * from stages where bill_no = ? and origin = 'correction'", [CIO_BILL])
    assert row["gone_at"] is not None and "withdrawn" in row["note"]  # kept, never deleted
    after = bill(dbfile, CIO_BILL)
    assert (after["current_stage"], after["current_stage_on"]) == ("committee-listed", "2017-03-22")
    (entry,) = rows(dbfile, "select * from corrections")
    assert entry["status"] == "reverted" and entry["gone_at"] is not None
    events = rows(
        dbfile, "select kind, new_value from changes where bill_no = ? order by id desc limit 1", [CIO_BILL]
    )
    assert events == [{"kind": "current-stage-changed", "new_value": "committee-listed"}]
    # and back: the same entry again re-applies on the row it had
    write(path, GOOD)
    reconcile(dbfile, path)
    (row,) = rows(dbfile, "select * from stages where bill_no = ? and origin = 'correction'", [CIO_BILL])
    assert row["gone_at"] is None and row["seq"] == 3000
    assert rows(dbfile, "select status, gone_at from corrections") == [{"status": "applied", "gone_at": None}]


@pytest.mark.slow
def test_a_corrected_third_reading_is_followed_by_its_promulgation_in_the_same_run(
    fulldbfile: Path, tmp_path: Path
) -> None:
    """Corrections come before the steps that derive from a bill's stages: MOJ 沿革 records a
    promulgation of 行政院組織法 on 2022-01-19, 15 days after this (test) third reading."""
    target = fulldbfile
    path = write(tmp_path / "c.toml", {**GOOD, "value": "2022-01-04"})
    reconcile(target, path)
    after = bill(target, CIO_BILL)
    assert (after["current_stage"], after["current_stage_on"]) == ("promulgated", "2022-01-19")
    (derived,) = rows(target, "select * from stages where bill_no = ? and stage = 'promulgated'", [CIO_BILL])
    assert "after the 三讀 of 2022-01-04" in derived["note"]
    tables = ("bills", "stages", "stage_sources", "corrections", "changes")
    first = dump(target, tables)
    reconcile(target, path)
    assert dump(target, tables) == first


@pytest.mark.slow
def test_a_stage_date_correction_dates_the_current_stage(dbfile: Path, tmp_path: Path) -> None:
    assert (bill(dbfile, PASSED_BILL)["current_stage"], bill(dbfile, PASSED_BILL)["current_stage_on"]) == (
        "third-reading",
        "2016-11-18",
    )
    raw_stages = published(dbfile, PASSED_BILL)
    # Later than published: were the published row still counted, its 三讀 of 2016-11-18 would
    # settle the bill first and the corrected one would change nothing.
    entry = {**GOOD, "bill": PASSED_BILL, "field": "stage_date", "raw": "三讀", "value": "2016-11-22"}
    reconcile(dbfile, write(tmp_path / "c.toml", entry))
    after = bill(dbfile, PASSED_BILL)
    assert (after["current_stage"], after["current_stage_on"]) == ("third-reading", "2016-11-22")
    assert published(dbfile, PASSED_BILL) == raw_stages  # the published 三讀 still says 2016-11-18
    (row,) = rows(dbfile, "select * from stages where bill_no = ? and origin = 'correction'", [PASSED_BILL])
    assert (row["stage"], row["status_raw"], row["on"]) == ("third-reading", "三讀", "2016-11-22")
    assert "the date of seq 5 (published: 2016-11-18, 2016-11-22)" in row["note"]


@pytest.mark.slow
def test_bad_entries_are_one_problem_each_and_the_rest_still_apply(dbfile: Path, tmp_path: Path) -> None:
    path = write(
        tmp_path / "c.toml",
        {**GOOD, "stage": "passed"},
        {**GOOD, "bill": "9999999999999999"},
        {**GOOD, "bill": PASSED_BILL, "field": "stage_date", "seq": 77},
        GOOD,
    )
    for _ in range(2):
        reconcile(dbfile, path)
    problems = rows(
        dbfile,
        "select message, url, bill_no, times from problems where kind = 'bad-correction' order by message",
    )
    assert [p["message"] for p in problems] == [
        "c.toml entry #1 (line 3): unknown stage slug 'passed' (scrapers/stages.py)",
        "c.toml entry #2 (line 13): no bill 9999999999999999 is stored",
        f"c.toml entry #3 (line 23): no stored third-reading stage with seq 77 on bill {PASSED_BILL}",
    ]
    assert {p["times"] for p in problems} == {1} and {p["url"] for p in problems} == {str(path)}
    statuses = rows(dbfile, "select entry, status from corrections order by entry")
    assert [s["status"] for s in statuses] == ["invalid", "no-such-bill", "no-such-stage", "applied"]
    assert bill(dbfile, CIO_BILL)["current_stage"] == "third-reading"


@pytest.mark.slow
def test_an_unreadable_file_is_one_problem_and_costs_nothing_applied(dbfile: Path, tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", GOOD)
    reconcile(dbfile, path)
    path.write_text("[[correction]\n", encoding="utf-8")
    for _ in range(2):
        reconcile(dbfile, path)
    problems = rows(dbfile, "select message, times from problems where kind = 'bad-correction'")
    assert len(problems) == 1 and problems[0]["times"] == 1 and "not valid TOML" in problems[0]["message"]
    assert bill(dbfile, CIO_BILL)["current_stage"] == "third-reading"
    assert rows(dbfile, "select status from corrections") == [{"status": "applied"}]


@pytest.mark.slow
def test_the_environment_names_the_file(
    dbfile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLTRACKER_CORRECTIONS", str(write(tmp_path / "env.toml", GOOD)))
    assert corrections.corrections_path() == tmp_path / "env.toml"
    db = sqlite_utils.Database(dbfile)
    Reconciler(db, date.fromisoformat(TODAY)).run()
    db.close()
    assert bill(dbfile, CIO_BILL)["current_stage"] == "third-reading"


@pytest.mark.slow
def test_reconcile_command_takes_a_corrections_file(dbfile: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from billtracker.cli import cli

    path = write(tmp_path / "c.toml", GOOD)
    result = CliRunner().invoke(
        cli, ["reconcile", "--db", str(dbfile), "--today", TODAY, "--corrections", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "1 corrections applied" in result.output
    assert bill(dbfile, CIO_BILL)["current_stage"] == "third-reading"


# --- published and shown -------------------------------------------------------------------------


@pytest.mark.slow
def test_published_as_a_table_a_query_and_on_the_bill_page(
    dbfile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billtracker.serve.datasette import datasette_app

    stage_date = {**GOOD, "bill": CIO_BILL, "field": "stage_date", "stage": "committee-listed", "seq": 3}
    stage_date |= {
        "value": "2017-03-23",
        "why": "test: the committee met the next day",
        "source": "公報 106卷",
    }
    reconcile(dbfile, write(tmp_path / "c.toml", GOOD, stage_date))
    monkeypatch.setenv("BILLTRACKER_TODAY", TODAY)

    async def fetch(path: str) -> Any:
        return await datasette_app(dbfile).client.get(path)

    def get(path: str) -> Any:
        response = asyncio.run(fetch(path))
        assert response.status_code == 200, response.text[:2000]
        return response

    table = get("/billtracker/corrections.json?_shape=array").json()
    assert sorted((r["entry"], r["field"], r["status"]) for r in table) == [
        (1, "stage", "applied"),
        (2, "stage_date", "applied"),
    ]
    query = get(f"/billtracker/corrections_of.json?bill_no={CIO_BILL}&_shape=array").json()
    assert [(r["entry"], r["value"], r["reviewed_by"]) for r in query] == [
        (1, "2017-05-02", "a reviewer"),
        (2, "2017-03-23", "a reviewer"),
    ]
    assert get("/billtracker/corrections_of.json?bill_no=1&_shape=array").json() == []
    assert len(get("/billtracker/corrections_of.json?_shape=array").json()) == 2  # blank: every bill

    soup = BeautifulSoup(get(f"/-/bill/{CIO_BILL}").text, "html.parser")
    listed = soup.select(".bt-corrections tbody tr")
    assert [tr["data-correction"] for tr in listed] == ["1", "2"]
    first = listed[0].get_text(" ", strip=True)
    for text in (
        "third-reading",
        "2017-05-02",
        "test: a record states the third reading",
        "a reviewer",
        "2026-12-01",
    ):
        assert text in first
    assert listed[0].select_one("a[href='https://example.org/record/1']") is not None
    assert "公報 106卷" in listed[1].get_text()
    stages = soup.select(".bt-timeline li.stage")
    corrected = [li for li in stages if "corrected" in li["class"]]
    assert [(li["data-stage"], li["data-on"]) for li in corrected] == [
        ("committee-listed", "2017-03-23"),
        ("third-reading", "2017-05-02"),
    ]
    assert all(li.select_one(".badge.corrected") for li in corrected)
    (redated,) = [li for li in stages if "date-corrected" in li["class"]]
    assert redated["data-on"] == "2017-03-22"  # shown as published, marked
    assert "date corrected to 2017-03-23" in redated.get_text(" ", strip=True)
    third = soup.select_one(".bt-milestones [data-milestone='third-reading']")
    assert "reached" in third["class"] and third.select_one(".badge.corrected") is not None


@pytest.mark.slow
def test_a_bill_without_corrections_shows_none(
    full_crawled_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billtracker.serve.datasette import datasette_app

    monkeypatch.setenv("BILLTRACKER_TODAY", TODAY)

    async def fetch() -> Any:
        return await datasette_app(full_crawled_db).client.get(f"/-/bill/{CIO_BILL}")

    soup = BeautifulSoup(asyncio.run(fetch()).text, "html.parser")
    assert soup.select_one(".bt-timeline") is not None
    assert soup.select_one(".bt-corrections") is None and not soup.select(".badge.corrected")


def test_no_per_bill_fix_lives_in_the_code() -> None:
    """A bill number in reconcile or the corrections module would be a fix in code."""
    modules = sorted((REPO_ROOT / "pipelines" / "reconcile").glob("*.py"))  # the package's steps
    assert len(modules) > 5 and REPO_ROOT / "pipelines" / "reconcile" / "corrections.py" in modules
    for module in modules:
        code = module.read_text(encoding="utf-8")
        body = re.sub(r'"""(?:.|\n)*?"""|#.*', "", code)  # docstrings and comments cite examples
        assert not re.search(r"\b\d{15,16}\b", body), module


def test_a_corrected_third_reading_on_a_merged_bill_is_settled_in_one_run(
    tmp_path: Path, samples_dir: Path
) -> None:
    """The companion borrows the report's 三讀 (seq 1100) until a correction gives it one of its
    own: the borrowed one is withdrawn in the same run, and comes back when the entry goes."""
    from billtracker.replay import load_replay
    from tests.test_reconcile import COMPANION, MERGED, REPORT, report_record, store_records

    data = load_replay(samples_dir)
    path = tmp_path / "merged.db"
    store_records(
        path, {MERGED: data.bills[MERGED], COMPANION: data.bills[COMPANION], REPORT: report_record(data)}
    )
    empty = write(tmp_path / "none.toml")
    reconcile(path, empty)
    borrowed = "select gone_at from stages where bill_no = ? and seq = 1100"
    assert rows(path, borrowed, [COMPANION]) == [{"gone_at": None}]
    entry = write(tmp_path / "c.toml", {**GOOD, "bill": COMPANION, "value": "2016-11-22"})
    tables = ("bills", "stages", "stage_sources", "corrections", "changes")
    for file in (entry, empty):
        reconcile(path, file)
        settled = dump(path, tables)
        reconcile(path, file)
        assert dump(path, tables) == settled, file.name
        if file is entry:
            assert rows(path, borrowed, [COMPANION])[0]["gone_at"] is not None
            after = bill(path, COMPANION)
            assert (after["current_stage_on"], after["current_stage_evidence"]) == (
                "2016-11-22",
                "correction",
            )
    assert rows(path, borrowed, [COMPANION]) == [{"gone_at": None}]
    assert bill(path, COMPANION)["current_stage_evidence"] == "report"
