"""Article-level watches (issue 13): `article = "行政院組織法 第六條"` matches every bill whose
title or 對照表 touches that article, and every change to those bills; its feed and JSON are the
other watches' (`watch_feed`). A real crawl with such a watch in its config, and a watch added
to an existing database (the whole history re-matched, as the next crawl does)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
import sqlite_utils

from billtracker.serve.datasette import datasette_app
from pipelines.history.versions import rematch_all
from pipelines.history.watches import (
    DEFAULT_WATCHES,
    BadWatch,
    Watch,
    article_target,
    load_watches,
    sync_watches,
)
from tests.conftest import CIO_BILL, run_crawl

ARTICLE_6 = Watch("ey-article-6", "article", "行政院組織法 第六條", "行政院組織法 第六條")
CONFIG = """[[watch]]
name = "ey-article-6"
title = "行政院組織法 第六條"
article = "行政院組織法 第六條"

[[watch]]
name = "ey-article-15"
title = "行政院組織法 第十五條"
article = "01010 第十五條"

[[watch]]
name = "voting-age"
title = "公職人員選舉罷免法 第十四條"
article = "公職人員選舉罷免法 第十四條"
"""


def bills_touching(db_path: Path, law_code: str, key: str) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {
            r[0]
            for r in conn.execute(
                "select bill_no from articles where law_code = ? and article_key = ? and gone_at is null",
                [law_code, key],
            )
        }


def watched(db_path: Path, name: str) -> tuple[set[int], set[str]]:
    with sqlite3.connect(db_path) as conn:
        found = conn.execute(
            "select c.id, c.bill_no from change_watches w join changes c on c.id = w.change_id"
            " where w.watch = ?",
            [name],
        ).fetchall()
    return {r[0] for r in found}, {r[1] for r in found}


def all_changes_of(db_path: Path, bills: set[str]) -> set[int]:
    with sqlite3.connect(db_path) as conn:
        marks = ",".join("?" * len(bills))
        return {
            r[0] for r in conn.execute(f"select id from changes where bill_no in ({marks})", sorted(bills))
        }


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ("行政院組織法 第六條", ("行政院組織法", "0006-00")),
        ("行政院組織法第六條", ("行政院組織法", "0006-00")),
        ("01010 第十二條之三", ("01010", "0012-03")),
        ("行政院組織法 第 12-3 條", ("行政院組織法", "0012-03")),
    ],
)
def test_article_target(value: str, target: tuple[str, str]) -> None:
    assert article_target(value) == target


def test_matching_by_name_or_code() -> None:
    touched = [("01010", "行政院組織法", "0006-00")]
    assert ARTICLE_6.matches({"bill_no": "x"}, ["01010"], set(), touched)
    assert Watch("c", "article", "01010 第六條").matches({"bill_no": "x"}, [], set(), touched)
    assert not Watch("d", "article", "行政院組織法 第七條").matches(
        {"bill_no": "x"}, ["01010"], set(), touched
    )
    assert not ARTICLE_6.matches({"bill_no": "x"}, ["01010"], set())  # the law alone is not the article


def test_bad_article_watch(tmp_path: Path) -> None:
    path = tmp_path / "watches.toml"
    path.write_text('[[watch]]\nname = "x"\narticle = "行政院組織法"\n', encoding="utf-8")
    with pytest.raises(BadWatch, match="names a law and an article"):
        load_watches(path)


@pytest.fixture(scope="module")
def article_crawl(tmp_path_factory: pytest.TempPathFactory, replay: Any) -> Path:
    """A real crawl whose watch config has two article watches."""
    root = tmp_path_factory.mktemp("article-watch")
    config = root / "watches.toml"
    config.write_text(CONFIG, encoding="utf-8")
    db_path = root / "billtracker.db"
    result = run_crawl(db_path, replay.base_url, extra_settings={"BILLTRACKER_WATCHES": str(config)})
    assert result.returncode == 0, result.stderr[-3000:]
    return db_path


@pytest.mark.slow
def test_crawl_matches_every_change_of_the_bills_touching_the_article(article_crawl: Path) -> None:
    six = bills_touching(article_crawl, "01010", "0006-00")
    assert CIO_BILL in six and len(six) >= 2  # 許毓仁's and 余宛如's, from their titles
    ids, bills = watched(article_crawl, "ey-article-6")
    assert bills == six
    assert ids == all_changes_of(article_crawl, six)  # each change of those bills, nothing else
    fifteen = bills_touching(article_crawl, "01010", "0015-00")
    assert watched(article_crawl, "ey-article-15")[1] == fifteen and fifteen != six  # by law code


@pytest.mark.slow
def test_an_article_from_the_comparison_table(article_crawl: Path) -> None:
    """202110213410000's 第十四條 is known from its 對照表 (origin 'table'), not from its title."""
    with sqlite3.connect(article_crawl) as conn:
        origins = {
            r[0]
            for r in conn.execute(
                "select origin from articles where bill_no = '202110213410000' and article_key = '0014-00'"
            )
        }
    assert origins == {"table"}
    assert "202110213410000" in watched(article_crawl, "voting-age")[1]


@pytest.mark.slow
def test_feed_and_json_like_other_watches(article_crawl: Path) -> None:
    async def go() -> list[Any]:
        ds = datasette_app(article_crawl)
        return [
            await ds.client.get("/billtracker/watch_feed.atom?watch=ey-article-6"),
            await ds.client.get("/billtracker/watch_feed.json?watch=ey-article-6&_shape=array"),
            await ds.client.get("/"),
        ]

    feed_response, json_response, home = asyncio.run(go())
    feed = feedparser.parse(feed_response.text)
    assert not feed.bozo and feed.version == "atom10" and feed.entries
    linked = {e.link.split("/")[-2] for e in feed.entries}
    assert linked == bills_touching(article_crawl, "01010", "0006-00")
    rows = json_response.json()
    assert {r["bill_no"] for r in rows} == linked
    assert 'data-watch="ey-article-6"' in home.text and quote("ey-article-6") in home.text


@pytest.mark.slow
def test_a_new_article_watch_covers_the_history(full_crawled_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "billtracker.db"
    shutil.copy(full_crawled_db, copy)
    db = sqlite_utils.Database(copy)
    assert sync_watches(db, [*load_watches(DEFAULT_WATCHES), ARTICLE_6], "2026-12-02T00:00:00Z", rematch_all)
    db.conn.commit()
    six = bills_touching(copy, "01010", "0006-00")
    ids, bills = watched(copy, "ey-article-6")
    assert bills == six and ids == all_changes_of(copy, six)
