"""Provenance a reader can follow (issue 11, requirement 7): a record crawled from the replay keeps
the upstream URL it stands for as its source link, on every reader-facing column and page; the
replay's own URL stays only where it is the truth, in `fetches` (what was actually requested) and
in the spiders' `problems` (a 404 of the replay is no 404 of ly.govapi.tw).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from billtracker.replay.upstream import upstream_map
from billtracker.serve.datasette import datasette_app
from scrapers.tw_ly.responses import upstream_url
from tests.conftest import CIO_BILL, TODAY

REPLAY_ONLY = {"fetches", "problems"}
MOJ_CH = (
    "https://raw.githubusercontent.com/kong0107/mojLawSplitJSON/"
    "269a8098917a880da4d233d2ecd767b90c443847/ch/A0010032.json"
)


def columns_with_replay_urls(db_path: Path) -> dict[str, int]:
    """Every `table.column` holding a 127.0.0.1 URL, with its count (FTS shadow tables aside)."""
    found: dict[str, int] = {}
    with sqlite3.connect(db_path) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if "_fts" not in r[0] and not r[0].endswith("_vocab")
        ]
        for table in tables:
            for _, column, *_ in conn.execute(f"PRAGMA table_info('{table}')"):
                sql = f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE \'%127.0.0.1%\''
                if count := conn.execute(sql).fetchone()[0]:
                    found[f"{table}.{column}"] = count
    return found


def test_upstream_url_maps_the_longest_prefix_and_leaves_live_urls_alone() -> None:
    upstream = upstream_map("http://127.0.0.1:8123")
    assert upstream_url(f"http://127.0.0.1:8123/v2/bills/{CIO_BILL}", upstream) == (
        f"https://ly.govapi.tw/v2/bills/{CIO_BILL}"
    )
    assert upstream_url("http://127.0.0.1:8123/v2/bills?屆=9&page=2", upstream) == (
        "https://ly.govapi.tw/v2/bills?屆=9&page=2"
    )
    assert upstream_url("http://127.0.0.1:8123/moj/ch/A0010032.json", upstream) == MOJ_CH
    live = f"https://ly.govapi.tw/v2/bills/{CIO_BILL}"
    assert upstream_url(live, upstream) == live and upstream_url(live, {}) == live
    # another replay's port is not this replay
    assert upstream_url("http://127.0.0.1:9/v2/bills/1", upstream) == "http://127.0.0.1:9/v2/bills/1"


@pytest.mark.slow
def test_no_reader_facing_column_names_the_replay(cli_crawl: tuple[Path, str]) -> None:
    found = columns_with_replay_urls(cli_crawl[0])
    assert {c.split(".")[0] for c in found} <= REPLAY_ONLY, found
    assert found.get("fetches.url", 0) > 0  # the requests really went to the replay


@pytest.mark.slow
def test_a_source_link_is_the_upstream_url_and_the_hash_the_body_fetched(cli_crawl: tuple[Path, str]) -> None:
    with sqlite3.connect(cli_crawl[0]) as conn:
        source_url, sha = conn.execute(
            "SELECT source_url, content_sha256 FROM bills WHERE bill_no = ?", [CIO_BILL]
        ).fetchone()
        assert source_url == f"https://ly.govapi.tw/v2/bills/{CIO_BILL}"
        fetched = conn.execute("SELECT url FROM fetches WHERE content_sha256 = ?", [sha]).fetchall()
        assert fetched and all(
            url.startswith("http://127.0.0.1:") and url.endswith(f"/v2/bills/{CIO_BILL}")
            for (url,) in fetched
        )
        stage_urls = {
            r[0] for r in conn.execute("SELECT source_url FROM stages WHERE bill_no = ?", [CIO_BILL])
        }
        assert stage_urls == {source_url}
        law = conn.execute("SELECT DISTINCT source_url FROM law_versions").fetchall()
        assert (MOJ_CH,) in law
        ppg = conn.execute(
            "SELECT source_url FROM source_bills WHERE source = 'ppg' AND bill_no = ?", [CIO_BILL]
        )
        assert ppg.fetchone() == (f"https://ppg.ly.gov.tw/ppg/bills/{CIO_BILL}/details",)
        opendata = conn.execute("SELECT DISTINCT source_url FROM source_bills WHERE source = 'opendata'")
        assert {r[0] for r in opendata} <= {
            "https://data.ly.gov.tw/odw/usageFile.action?id=20&type=CSV&fname=20_CSV.csv",
            "https://data.ly.gov.tw/odw/usageFile.action?id=20&type=JSON&fname=20_JSON.json",
        }


@pytest.mark.slow
def test_the_bill_page_links_the_upstream_record(
    cli_crawl: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLTRACKER_TODAY", TODAY)

    async def fetch(path: str):  # type: ignore[no-untyped-def]
        return await datasette_app(cli_crawl[0]).client.get(path)

    for path in (f"/-/bill/{CIO_BILL}", "/-/law/01010"):
        response = asyncio.run(fetch(path))
        assert response.status_code == 200
        assert "127.0.0.1" not in response.text, path
    soup = BeautifulSoup(asyncio.run(fetch(f"/-/bill/{CIO_BILL}")).text, "html.parser")
    hrefs = {a["href"] for a in soup.select(".bt-timeline a[href]")}
    assert f"https://ly.govapi.tw/v2/bills/{CIO_BILL}" in hrefs
