"""The stage machine on the whole shared corpus (3,597 real 9th-term bills, `corpus_crawl`): the
record's order decides, but nothing un-passes a passed bill or revives a let-go one by paperwork,
and every bill has a current stage, `unknown` when nothing dates one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlite_utils
from bs4 import BeautifulSoup

from billtracker.serve.datasette import datasette_app
from tests.conftest import TODAY

pytestmark = pytest.mark.slow

# bill -> (current stage, the entries after the deciding one that must not move it)
HELD = {
    # 撤案 2016-07-01, then the committee's 委員會發文 of 2016-12-29
    "1050202070100200": ("withdrawn", ["委員會發文"]),
    # 撤案 2016-07-01, then the committee's 繼續審查 of 2016-11-14
    "1050408070100200": ("withdrawn", ["繼續審查"]),
    # 不予審議 2016-12-23, then 委員會發文 2017-09-26
    "1051026070200300": ("rejected", ["委員會發文"]),
    # an undated 撤案 listed first, then 交付審查 and 排入院會 of 2016-02-19
    "1050216070200300": ("withdrawn", ["交付審查", "排入院會(交內政委員會)", "委員會發文"]),
    # 三讀 2016-07-22, then 逕付二讀, 繼續審查, 排入院會 and 委員會發文 of the bills reviewed with it
    "1050411070201900": ("third-reading", ["逕付二讀", "繼續審查", "委員會發文"]),
    # 三讀 2017-01-05, then 委員會發文 2017-05-09
    "1050226070202600": ("third-reading", ["委員會發文"]),
}


def db_of(corpus_crawl: tuple[Path, str]) -> sqlite_utils.Database:
    return sqlite_utils.Database(corpus_crawl[0])


@pytest.mark.parametrize("bill_no", sorted(HELD))
def test_later_paperwork_does_not_move_a_decided_bill(corpus_crawl: tuple[Path, str], bill_no: str) -> None:
    db = db_of(corpus_crawl)
    stage, later = HELD[bill_no]
    assert db["bills"].get(bill_no)["current_stage"] == stage
    rows = list(
        db.query(
            "SELECT stage, status_raw FROM stages WHERE bill_no = ? AND gone_at IS NULL "
            "ORDER BY coalesce(order_on, ''), seq",
            [bill_no],
        )
    )
    deciding = max(i for i, r in enumerate(rows) if r["stage"] == stage)
    after = [r["status_raw"] for r in rows[deciding + 1 :]]
    assert set(later) <= set(after), after  # the later entries are stored: history, not lost


def test_every_bill_has_a_current_stage(corpus_crawl: tuple[Path, str]) -> None:
    db = db_of(corpus_crawl)
    assert db.execute(
        "SELECT count(*) FROM bills WHERE current_stage IS NULL OR current_stage = ''"
    ).fetchone() == (0,)
    unknown = list(db.query("SELECT * FROM bills WHERE current_stage = 'unknown'"))
    assert len(unknown) == 30  # dataset-20 rows alone: no source dates a stage of these bills
    for bill in unknown:
        assert bill["current_stage_label"] == "未知" and bill["current_stage_on"] is None
        assert bill["current_stage_caveat"].startswith("no source records a dated stage of this bill")
        live = db.execute(
            "SELECT count(*) FROM stages WHERE bill_no = ? AND gone_at IS NULL", [bill["bill_no"]]
        )
        assert live.fetchone() == (0,)
    # the raw status the sources give is named: 1050225070200900's dataset-20 billStatus 撤案
    caveat = db["bills"].get("1050225070200900")["current_stage_caveat"]
    assert caveat.endswith("latest status per opendata billStatus 撤案")


def test_the_bill_page_shows_unknown_not_none(
    corpus_crawl: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BILLTRACKER_TODAY", TODAY)

    async def fetch():  # type: ignore[no-untyped-def]
        return await datasette_app(corpus_crawl[0]).client.get("/-/bill/1050225070200900")

    response = asyncio.run(fetch())
    assert response.status_code == 200
    current = BeautifulSoup(response.text, "html.parser").select_one("dd.current")
    assert current is not None
    assert current.get_text(" ", strip=True) == "未知 unknown"
    assert "opendata billStatus 撤案" in response.text
