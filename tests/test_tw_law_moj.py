"""tw_law_moj on the two recorded MOJ exports of 行政院組織法 (A0010032), one parse at module
level, then one-line tests; plus a bulk zip, bad bodies, and the real engine into SQLite."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlite_utils
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from billtracker.replay import default_samples_dir
from pipelines.normalise.article_numbers import cn_int as chinese_number
from pipelines.normalise.moj_law import article_key, read_law, roc_date_words, split_histories
from scrapers.items import LawTextItem, ProblemItem
from scrapers.tw_law.moj import TwLawMojSpider, law_records
from tests.conftest import run_crawl

MOJ = default_samples_dir() / "law.moj.gov.tw"
CURRENT = (MOJ / "mojLawSplitJSON_split_ch_A0010032.json").read_bytes()
EXPORT_2019 = (MOJ / "mojLawSplitJSON_tag20190104_FalVMingLing_A0010032.json").read_bytes()
LAW_NOW = read_law(json.loads(CURRENT.decode("utf-8-sig")))
LAW_2010 = read_law(json.loads(EXPORT_2019.decode("utf-8-sig")))


def spider_items(body: bytes, pcodes: list[str] | None = None) -> list[object]:
    crawler = get_crawler(TwLawMojSpider, {"TW_LAW_MOJ_PCODES": pcodes or ["A0010032"]})
    spider = TwLawMojSpider.from_crawler(crawler)
    url = "http://127.0.0.1/moj/x.json"
    response = TextResponse(url, body=body, request=Request(url), encoding="utf-8")
    return list(spider.parse(response))


def test_name_and_pcode() -> None:
    assert (LAW_NOW.name, LAW_NOW.pcode, LAW_NOW.export) == ("行政院組織法", "A0010032", "current")
    assert (LAW_2010.name, LAW_2010.pcode, LAW_2010.export) == ("行政院組織法", "A0010032", "2019")


def test_modified_on() -> None:
    assert LAW_NOW.modified_on == "2023-04-26"
    assert LAW_2010.modified_on == "2010-02-03"


def test_article_6_in_2010_text() -> None:
    art = next(a for a in LAW_2010.articles if a.article_key == "0006-00")
    assert (art.article_no, art.text) == ("第 6 條", "行政院設行政院主計總處及行政院人事行政總處。")


def test_article_counts() -> None:
    assert len(LAW_NOW.articles) == 15 and len(LAW_2010.articles) == 15


def test_history_entries() -> None:
    assert len(LAW_NOW.versions) == 10 and len(LAW_2010.versions) == 8
    v8 = LAW_NOW.versions[7]
    assert (v8.promulgated_on, v8.action, v8.scope) == ("2010-02-03", "修正", "全文 15 條")
    assert LAW_NOW.versions[0].action == "制定" and LAW_NOW.versions[0].promulgated_on == "1947-03-31"


def test_history_continuation_lines_joined() -> None:
    entries = split_histories(
        "1.中華民國九十九年二月三日總統令修正\r\n  公布全文 15 條\r\n2.中華民國一百年一月一日制定"
    )
    assert entries == ["1.中華民國九十九年二月三日總統令修正公布全文 15 條", "2.中華民國一百年一月一日制定"]


@pytest.mark.parametrize(
    ("words", "number"), [("九十九", 99), ("一百十一", 111), ("十", 10), ("一百零一", 101), ("三十六", 36)]
)
def test_chinese_number(words: str, number: int) -> None:
    assert chinese_number(words) == number


def test_roc_date_words() -> None:
    assert roc_date_words("中華民國一百十二年四月二十六日總統令") == "2023-04-26"
    assert roc_date_words("no date here") is None


@pytest.mark.parametrize(
    ("number", "key"), [("第 6 條", "0006-00"), ("第 12-3 條", "0012-03"), ("第一章 總則", "0005-00c")]
)
def test_article_key(number: str, key: str) -> None:
    assert article_key(number, "0005-00") == key


def test_spider_yields_one_law_per_file() -> None:
    items = [i for i in spider_items(CURRENT) if isinstance(i, LawTextItem)]
    assert [i.pcode for i in items] == ["A0010032"]
    assert items[0].provenance.content_sha256 and items[0].provenance.fetched_at


def test_bulk_zip_keeps_only_wanted_laws() -> None:
    other = json.loads(CURRENT.decode("utf-8-sig")) | {
        "LawName": "別的法",
        "LawURL": "https://law.moj.gov.tw/LawClass/LawAll.aspx?pcode=Z0000001",
    }
    bulk = {"UpdateDate": "2024/10/11", "Laws": [json.loads(CURRENT.decode("utf-8-sig")), other]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ChLaw.json", json.dumps(bulk, ensure_ascii=False).encode("utf-8-sig"))
    assert len(law_records(buffer.getvalue())) == 2
    kept = [i for i in spider_items(buffer.getvalue()) if isinstance(i, LawTextItem)]
    assert [i.pcode for i in kept] == ["A0010032"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<html><body>Access denied</body></html>", "block-page"),
        (b'{"LawName": "x"', "malformed-json"),
        (b'{"something": "else"}', "wrong-shape"),
        ("此筆資料尚未建置".encode(), "placeholder-page"),
    ],
)
def test_bad_bodies_are_problems(body: bytes, kind: str) -> None:
    items = spider_items(body)
    problems = [i for i in items if isinstance(i, ProblemItem)]
    assert [p.kind for p in problems] == [kind]
    assert not [i for i in items if isinstance(i, LawTextItem)]


@pytest.mark.slow
def test_real_engine_links_moj_to_ly_law(tmp_path: Path, replay) -> None:  # type: ignore[no-untyped-def]
    db_path = tmp_path / "moj.db"
    assert run_crawl(db_path, replay.base_url).returncode == 0  # LY laws first: the link is by name
    result = run_crawl(db_path, replay.base_url, spider="tw_law_moj")
    assert result.returncode == 0, result.stderr[-2000:]
    db = sqlite_utils.Database(db_path)
    assert db["laws"].get("01010")["moj_pcode"] == "A0010032"
    snapshots = {
        r["snapshot_on"]: r["text"]
        for r in db["law_articles"].rows_where("law_code = '01010' and article_key = '0006-00'")
    }
    assert snapshots["2010-02-03"] == "行政院設行政院主計總處及行政院人事行政總處。"
    assert set(snapshots) == {"2010-02-03", "2023-04-26"}
    versions = list(db["law_versions"].rows_where("law_code = '01010'", order_by="seq"))
    assert [v["promulgated_on"] for v in versions][-3:] == ["2010-02-03", "2022-01-19", "2023-04-26"]
    assert all(v["source_url"] and v["content_sha256"] for v in versions)
    # A second crawl writes the same rows: upserts, no duplicates.
    assert run_crawl(db_path, replay.base_url, spider="tw_law_moj").returncode == 0
    assert db["law_versions"].count == len(versions)


def test_two_exports_resolve_to_the_newer_whatever_the_order(tmp_path: Path) -> None:
    """A0010032's split export (2024) and its 2019 tag word 沿革 #7 differently (修正公布 /
    修正發布): the newer export's reading is stored, in either order of arrival."""
    from pipelines.schema import open_db
    from pipelines.store.moj_law import outranks, store_law_text
    from scrapers.items import Provenance

    samples = default_samples_dir() / "law.moj.gov.tw"
    exports = {
        "http://replay/moj/ch/A0010032.json": samples / "mojLawSplitJSON_split_ch_A0010032.json",
        "http://replay/moj/2019/A0010032.json": samples
        / "mojLawSplitJSON_tag20190104_FalVMingLing_A0010032.json",
    }
    stored = []
    for order in (list(exports), list(reversed(exports))):
        db = open_db(tmp_path / f"{len(stored)}.db")
        for url in order:
            record = json.loads(exports[url].read_text(encoding="utf-8"))
            store_law_text(
                db, LawTextItem("A0010032", record, Provenance(url, "2026-12-01T00:00:00Z", "0" * 64, "t"))
            )
        stored.append(list(db.query("select seq, text_raw, source_url from law_versions order by seq")))
        db.close()
    assert stored[0] == stored[1]
    assert "修正公布第 3" in stored[0][6]["text_raw"]  # the newer export's wording
    assert {r["source_url"] for r in stored[0]} == {"http://replay/moj/ch/A0010032.json"}
    assert outranks(("2024-10-11", "b"), ("2019-01-04", "a"))
    assert outranks(("2024-10-11", "a"), ("2024-10-11", "b")) and not outranks(
        ("2024-10-11", "b"), ("2024-10-11", "a")
    )
