"""Atom feeds (datasette-atom canned queries) parsed with a real feed parser: all changes, per
bill, per law, per watch, per committee; stable ids, Chinese titles, links to the bill page."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import feedparser
import pytest
import sqlite_utils

from billtracker.serve.datasette import datasette_app
from tests.conftest import CIO_BILL

pytestmark = pytest.mark.slow

FEEDS = {
    "changes_feed": "",
    "bill_feed": f"bill_no={CIO_BILL}",
    "law_feed": "law=01010",
    "watch_feed": "watch=organisation-laws",
    "committee_feed": "committee=司法及法制委員會",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def parse(db_path: Any, path: str) -> Any:
    async def go() -> Any:
        return await datasette_app(db_path).client.get(path)

    response = asyncio.run(go())
    assert response.status_code == 200, response.text[:500]
    return feedparser.parse(response.text)


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_feed_is_valid_atom(history_crawl: dict, name: str) -> None:
    feed = parse(history_crawl["db"], f"/billtracker/{name}.atom?{FEEDS[name]}")
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert CJK.search(feed.feed.title)
    assert feed.entries
    ids = [e.id for e in feed.entries]
    assert len(ids) == len(set(ids))
    for entry in feed.entries:
        assert re.fullmatch(r"tag:billtracker,2016:change/\d+", entry.id)
        assert CJK.search(entry.title) and entry.title.startswith("【")
        assert re.fullmatch(r"https://ppg\.ly\.gov\.tw/ppg/bills/\d{15,16}/details", entry.link)
        assert entry.updated_parsed is not None
        assert entry.summary  # atom_content: what changed, old -> new, and the source


def test_feed_entries_are_the_matching_changes(history_crawl: dict) -> None:
    """Each feed holds exactly the changes its SQL promises (up to its 100-entry window)."""
    db = sqlite_utils.Database(history_crawl["db"])

    def ids(sql: str, params: list[str]) -> set[str]:
        return {
            f"tag:billtracker,2016:change/{r[0]}"
            for r in db.execute(sql + " order by id desc limit 100", params)
        }

    expected = {
        "bill_feed": ids("select id from changes where bill_no = ?", [CIO_BILL]),
        "committee_feed": ids("select id from changes where committee = ?", ["司法及法制委員會"]),
        "watch_feed": ids(
            "select change_id as id from change_watches where watch = ?", ["organisation-laws"]
        ),
        "law_feed": ids(
            "select id from changes where bill_no in (select bill_no from bill_laws where law_code = ?)",
            ["01010"],
        ),
    }
    for name, want in expected.items():
        feed = parse(history_crawl["db"], f"/billtracker/{name}.atom?{FEEDS[name]}")
        assert {e.id for e in feed.entries} == want, name


def test_feed_without_entries_is_still_atom(history_crawl: dict) -> None:
    feed = parse(history_crawl["db"], "/billtracker/watch_feed.atom?watch=no-such-watch")
    assert not feed.bozo and feed.version == "atom10"
    assert feed.entries == [] and feed.feed.title == "billtracker：關注清單異動"
