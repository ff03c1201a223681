"""The fast store (raw SQL, in-memory after-state for new bills) writes exactly what main's
sqlite-utils store wrote (tests/store_reference.py), table by table, row by row, rowids included.

Three runs over one file, in-process (the store alone; the Scrapy path is test_store.py's and the
end-to-end tests'): a first crawl of every sample bill and 240 generated ones; a second where
bills changed every way the store has a rule for (a stage gone, flow vanished, 對照表 vanished,
sponsors, title, related bills, a new law code twice, wrong types, a bad item rolled back mid
write, the same problem again); a third that repeats the second (no-ops).
"""

from __future__ import annotations

import copy
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from billtracker.replay import ReplayData, load_replay
from billtracker.replay.scale import ScaleCorpus
from pipelines.store import StorePipeline
from scrapers.items import BillItem, FetchItem, LawItem, ProblemItem, Provenance
from tests.store_reference import ReferenceStore

TODAY = date(2026, 11, 26)
CIO_BILL = "1051006070201100"
LYAPI_BILL = "202110213410000"  # the one sample with a 對照表
NEW_LAW = "99999"
ROLLED_BACK_LAW = "88888"


def bill(record: dict[str, Any], fetched_at: str, bill_no: str | None = None) -> BillItem:
    bill_no = bill_no or record["議案編號"]
    prov = Provenance(f"http://replay/v2/bills/{bill_no}", fetched_at, fetched_at[-9:-1] * 8, "tw_ly_bills")
    return BillItem(bill_no, record, prov)


def side_items(fetched_at: str) -> list[Any]:
    url = "http://replay/v2/laws/01010"
    return [
        FetchItem(url, 200, fetched_at, "ef" * 32, 10, "tw_ly_bills", "application/json"),
        LawItem(
            "01010",
            {"法律編號": "01010", "名稱": "行政院組織法", "法律狀態": "現行", "類別": "母法"},
            Provenance(url, fetched_at, "ef" * 32, "tw_ly_bills"),
        ),
        ProblemItem("http-404", "HTTP 404", "http://replay/v2/bills/0", "tw_ly_bills", "0"),
    ]


def changed_samples(data: ReplayData) -> list[dict[str, Any]]:
    """Sample bills changed in every way the store has a rule for."""
    bills = copy.deepcopy(data.bills)
    cio = bills[CIO_BILL]
    del cio["議案流程"]  # flow-vanished: stored stages and current stage kept
    lyapi = bills[LYAPI_BILL]
    del lyapi["對照表"]  # table-vanished: stored articles kept
    a = bills["1050219070201200"]
    a["議案流程"] = a["議案流程"][:3]  # stages gone (marked, never deleted)
    a["連署人"] = a["連署人"][1:] + ["新委員"]  # sponsor removed and added
    a["議案名稱"] += "（修正）"  # title-changed
    a["關連議案"].append({"議案編號": "1050219070209900", "議案名稱": "新關連"})
    b = bills["1050219070203400"]
    b["議案狀態"] = "撤案"  # a disagreement with the flow
    b["法律編號"], b["法律編號:str"] = b["法律編號"] + [NEW_LAW], b["法律編號:str"] + ["新法"]
    c = bills["1050219070204700"]
    c["法律編號"], c["法律編號:str"] = [NEW_LAW], ["新法"]  # the new law code again: one laws row
    c["提案人"], c["連署人"] = [], []  # no sponsors: the stored ones stay
    d = bills["1050226070202600"]
    d["議案名稱"], d["提案人"] = 123, "王委員"  # wrong types
    d["議案流程"].append({"日期": ["2017-05-01"], "狀態": "不明狀態", "會期": "", "院會/委員會": "院會"})
    e = bills["1050301070201300"]
    e["屆"] = 10**30  # cannot be stored (int overflow mid write): rolled back, a store-error problem
    f = bills["1050307070200500"]
    f["法律編號"], f["法律編號:str"] = [ROLLED_BACK_LAW], ["壞法"]
    f["資料抓取時間"] = {"not", "JSON"}  # fails late (the version's JSON): its laws row is rolled back
    g = bills["1050310070204800"]
    g["法律編號"], g["法律編號:str"] = [ROLLED_BACK_LAW], ["好法"]  # so this bill must write it
    return list(bills.values())


@pytest.fixture(scope="module")
def runs(samples_dir: Path) -> list[list[Any]]:
    data = load_replay(samples_dir)
    n = 240
    corpus = ScaleCorpus(data, n)
    mutated = ScaleCorpus(data, n, mutations=range(0, n, 3))
    first, second = "2026-11-26T01:00:00Z", "2026-11-27T01:00:00Z"
    with_table_row = copy.deepcopy(data.bills[LYAPI_BILL])
    extra_row = copy.deepcopy(with_table_row["對照表"][0]["rows"][0])
    extra_row["修正"] = extra_row["修正"].replace("第十四條", "第十四條之一")
    with_table_row["對照表"][0]["rows"].append(extra_row)
    run1 = side_items(first)
    run1 += [bill(copy.deepcopy(r), first) for r in data.bills.values() if r["議案編號"] != LYAPI_BILL]
    run1 += [bill(with_table_row, first), bill(copy.deepcopy(data.bills[LYAPI_BILL]), first)]
    run1 += [bill(corpus.record(i), first) for i in range(n)]
    run1.append(bill([], first, "1990000000000000"))  # not a record at all
    run2 = side_items(second) + [bill(r, second) for r in changed_samples(data)]
    run2 += [bill(mutated.record(i), second) for i in range(n)]
    return [run1, run2, run2]


def store_all(pipeline_class: type[StorePipeline], path: Path, runs: list[list[Any]], batch: int) -> None:
    for items in runs:
        pipeline = pipeline_class(str(path), TODAY, batch_items=batch)
        pipeline.open_spider()
        for item in items:
            assert pipeline.process_item(copy.deepcopy(item)) is not None
        pipeline.close_spider()


def masked(column: str, value: Any) -> Any:
    """Clock readings differ between two runs; whether one is set does not."""
    if column.endswith("_at") and column != "fetched_at":
        return value is not None
    return value


def table_rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    cursor = conn.execute(f"select rowid, * from [{table}] order by rowid")
    columns = ["rowid"] + [d[0] for d in cursor.description[1:]]
    return [{c: masked(c, v) for c, v in zip(columns, row, strict=True)} for row in cursor]


def dump(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows with rowids, and every FTS5 index checked (against its content, if any)."""
    with sqlite3.connect(path) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "select name from sqlite_master where type = 'table' and name not like '%_fts%' order by name"
            )
        ]
        out = {table: table_rows(conn, table) for table in tables}
        fts_tables = [
            name
            for (name,) in conn.execute(
                "select name from sqlite_master where type = 'table'"
                " and (sql like '%using fts5(%' or sql like '%using fts5 (%')"
            )
        ]
        assert {"bills_fts", "search_texts_fts"} <= set(fts_tables)
        for fts in fts_tables:
            conn.execute(f"insert into {fts}({fts}) values ('integrity-check')")  # raises if out of step
            out[fts] = table_rows(conn, fts)
    return out


@pytest.mark.parametrize("batch", [1, 500])
def test_fast_store_writes_what_the_reference_wrote(tmp_path: Path, runs: list[list[Any]], batch: int):
    store_all(ReferenceStore, tmp_path / "reference.db", runs, batch)
    store_all(StorePipeline, tmp_path / "fast.db", runs, batch)
    expected, got = dump(tmp_path / "reference.db"), dump(tmp_path / "fast.db")
    assert set(got) == set(expected)
    for table in sorted(expected):
        assert got[table] == expected[table], table
    # the scenario reaches every rule it claims to
    kinds = {row["kind"] for row in expected["problems"]}
    assert {"flow-vanished", "table-vanished", "store-error", "wrong-type", "unknown-stage"} <= kinds
    change_kinds = {row["kind"] for row in expected["changes"]}
    assert {"new-bill", "stage-added", "sponsor-added", "sponsor-removed", "title-changed"} <= change_kinds
    assert {"related-added", "disagreement"} <= change_kinds
    assert expected["change_watches"] and any(row["gone_at"] for row in expected["stages"])
    assert any(row["gone_at"] for row in expected["articles"])
    assert [row["name"] for row in expected["laws"] if row["law_code"] == NEW_LAW] == ["新法"]
    assert [row["name"] for row in expected["laws"] if row["law_code"] == ROLLED_BACK_LAW] == ["好法"]
    assert max(row["times"] for row in expected["problems"]) == 3  # one problem, three runs: one row
