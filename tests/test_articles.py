"""Amended articles: the real LYAPI 對照表, the column-header variants, titles of the 9th-term
bills, and the store (articles kept, never lost; unknown columns reported)."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from pipelines.normalise.articles import header, rows_from_tables, rows_from_title
from pipelines.store.pipeline import StorePipeline
from scrapers.items import BillItem, Provenance
from tests.conftest import CIO_BILL

LYAPI_BILL = "202110213410000"


@pytest.fixture(scope="module")
def lyapi_record(samples_dir: Path) -> dict[str, Any]:
    body = json.loads(
        (samples_dir / "ly.govapi.tw_v2" / "ly-mcp_bill_detail.json").read_text(encoding="utf-8")
    )
    return body["data"]


def test_lyapi_table(lyapi_record: dict[str, Any]) -> None:
    rows, problems = rows_from_tables(LYAPI_BILL, lyapi_record["對照表"])
    assert problems == []
    [row] = rows
    assert (row["law_code"], row["law_name"], row["kind"]) == ("01177", "公職人員選舉罷免法", "修正條文")
    assert (row["article_no"], row["article_main"], row["article_sub"], row["article_key"]) == (
        "第十四條",
        14,
        0,
        "0014-00",
    )
    assert row["text"] == "第十四條\u3000中華民國國民，年滿十八歲，有選舉權。"
    assert row["current"] == "第十四條\u3000中華民國國民，年滿二十歲，有選舉權。"
    assert row["explanation"].startswith("一、我國《民法》成年年齡")
    assert (row["version"], row["header_raw"], row["origin"]) == ("proposed", "修正", "table")
    assert row["law_content_id"] == "01177:01177:2023-05-26-修正:19"


@pytest.mark.parametrize(
    ("key", "column", "version"),
    [
        ("修正條文", "text", "proposed"),
        ("增訂條文", "text", "proposed"),
        ("修正", "text", "proposed"),
        ("審查會通過條文", "text", "committee"),
        ("委員提案條文", "text", "proposed"),
        ("三讀條文", "text", "passed"),
        ("現行條文", "current", ""),
        ("現行", "current", ""),
        ("說明", "explanation", ""),
        ("現 行 條 文", "current", ""),
    ],
)
def test_header_variants(key: str, column: str, version: str) -> None:
    assert header(key) == (column, version)


def test_added_article_has_no_current_text() -> None:
    tables = [
        {
            "law_id": "01010",
            "law_name": "行政院組織法",
            "立法種類": "增訂條文",
            "rows": [{"增訂條文": "第六條之一　行政院設行政院資訊總處。", "說明": "一、本條新增。"}],
        }
    ]
    [row], problems = rows_from_tables("x", tables)
    assert problems == []
    assert (row["article_key"], row["current"], row["kind"], row["header_raw"]) == (
        "0006-01",
        None,
        "增訂條文",
        "增訂條文",
    )


def test_committee_table_gives_one_row_per_version() -> None:
    tables = [
        {
            "law_id": "01010",
            "law_name": "行政院組織法",
            "rows": [
                {
                    "審查會通過條文": "第六條　行政院設行政院主計總處、行政院人事行政總處及行政院資訊總處。",
                    "委員提案條文": "第六條　行政院設行政院主計總處、人事行政總處及資訊總處。",
                    "現行條文": "第六條　行政院設行政院主計總處及行政院人事行政總處。",
                    "說明": "審查會：照案通過。",
                }
            ],
        }
    ]
    rows, problems = rows_from_tables("x", tables)
    assert problems == []
    assert sorted(r["version"] for r in rows) == ["committee", "proposed"]
    assert {r["current"] for r in rows} == {"第六條　行政院設行政院主計總處及行政院人事行政總處。"}
    assert {r["article_key"] for r in rows} == {"0006-00"}


def test_unknown_column_is_kept_and_reported() -> None:
    tables = [{"law_id": "01010", "rows": [{"修正條文": "第六條　甲。", "附註": "乙"}]}]
    [row], [problem] = rows_from_tables("x", tables)
    assert json.loads(row["extra"]) == {"附註": "乙"}
    assert problem.kind == "unknown-column" and "附註" in problem.message


@pytest.mark.parametrize("tables", ["not a list", [1], [{"rows": ["x"]}]])
def test_wrong_shapes_are_problems(tables: Any) -> None:
    rows, problems = rows_from_tables("x", tables)
    assert rows == [] and problems and problems[0].kind == "wrong-shape"


@pytest.mark.parametrize(
    ("title", "expected", "kind"),
    [
        ("「行政院組織法第六條條文修正草案」，請審議案。", [(6, 0)], "修正條文"),
        ("「行政院組織法第六條及第十五條條文修正草案」，請審議案。", [(6, 0), (15, 0)], "修正條文"),
        (
            "「老人福利法第三條、第五條及第二十七條之一條文修正草案」，請審議案。",
            [(3, 0), (5, 0), (27, 1)],
            "修正條文",
        ),
        ("「法院組織法刪除第六十三條之一條文草案」，請審議案。", [(63, 1)], "刪除條文"),
        ("「某法第三條至第五條條文修正草案」", [(3, 0), (4, 0), (5, 0)], "修正條文"),
        ("「行政院組織法部分條文修正草案」，請審議案。", [], ""),
        ("廢止「蒙藏委員會組織法」，請審議案。", [], ""),
    ],
)
def test_title(title: str, expected: list[tuple[int, int]], kind: str) -> None:
    laws = [{"law_code": "01010", "law_name": "行政院組織法"}]
    rows = rows_from_title("b", title, laws)
    assert [(r["article_main"], r["article_sub"]) for r in rows] == expected
    assert all(r["kind"] == kind and r["origin"] == "title" and r["text"] is None for r in rows)


def test_title_law_code_by_name() -> None:
    laws = [
        {"law_code": "01010", "law_name": "行政院組織法"},
        {"law_code": "01050", "law_name": "中央行政機關組織基準法"},
    ]
    [row] = rows_from_title("b", "「中央行政機關組織基準法第二十三條條文修正草案」", laws)
    assert (row["law_code"], row["law_name"]) == ("01050", "中央行政機關組織基準法")


# --- stored by the real crawl --------------------------------------------------------------------


@pytest.mark.slow
def test_crawl_stores_cio_article_from_title(db: sqlite_utils.Database) -> None:
    rows = list(db["articles"].rows_where("bill_no = ?", [CIO_BILL]))
    assert [(r["law_code"], r["article_key"], r["origin"], r["text"]) for r in rows] == [
        ("01010", "0006-00", "title", None)
    ]
    assert rows[0]["source_url"] and rows[0]["fetched_at"] and rows[0]["content_sha256"]


@pytest.mark.slow
def test_crawl_stores_lyapi_table(db: sqlite_utils.Database) -> None:
    [row] = db["articles"].rows_where("bill_no = ?", [LYAPI_BILL])
    assert (row["origin"], row["article_key"], row["law_code"]) == ("table", "0014-00", "01177")
    assert "年滿十八歲" in row["text"]
    assert db["problems"].count_where("kind in ('unknown-column', 'wrong-shape')") == 0


# --- the store never loses an article ---------------------------------------------------------


def run_store(path: Path, *records: dict[str, Any]) -> None:
    pipeline = StorePipeline(str(path), date(2026, 11, 26))
    pipeline.open_spider()
    for i, record in enumerate(records):
        prov = Provenance(f"http://replay/v2/bills/{LYAPI_BILL}", f"2026-11-26T0{i}:00:00Z", "ab" * 32, "t")
        pipeline.process_item(BillItem(LYAPI_BILL, record, prov))
    pipeline.close_spider()


def test_removed_article_is_marked_gone(tmp_path: Path, lyapi_record: dict[str, Any]) -> None:
    two = copy.deepcopy(lyapi_record)
    extra = copy.deepcopy(two["對照表"][0]["rows"][0])
    extra["修正"] = extra["修正"].replace("第十四條", "第十四條之一")
    two["對照表"][0]["rows"].append(extra)
    path = tmp_path / "a.db"
    run_store(path, two, lyapi_record)
    rows = {r["seq"]: r for r in sqlite_utils.Database(path)["articles"].rows}
    assert rows[0]["gone_at"] is None and rows[1]["gone_at"] is not None
    assert rows[1]["article_key"] == "0014-01"  # still there, marked


def test_vanished_table_keeps_stored_text(tmp_path: Path, lyapi_record: dict[str, Any]) -> None:
    without = copy.deepcopy(lyapi_record)
    del without["對照表"]
    path = tmp_path / "a.db"
    run_store(path, lyapi_record, without)
    db = sqlite_utils.Database(path)
    [row] = db["articles"].rows
    assert row["origin"] == "table" and "年滿十八歲" in row["text"] and row["gone_at"] is None
    assert db["problems"].count_where("kind = 'table-vanished'") == 1


def test_bills_stored_before_articles_get_them_on_the_next_crawl(
    tmp_path: Path, lyapi_record: dict[str, Any]
) -> None:
    """An unchanged record is a no-op, except that a bill stored before articles and search keys
    existed gets them once."""
    path = tmp_path / "a.db"
    run_store(path, lyapi_record)
    db = sqlite_utils.Database(path)
    db.execute("delete from articles")
    db.execute("delete from search_texts")
    db.conn.commit()
    run_store(path, lyapi_record)
    assert db["articles"].count == 1 and db["search_texts"].count == 3
