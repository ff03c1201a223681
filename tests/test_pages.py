"""The staffers' pages through an in-process Datasette serving a real crawl (bills + MOJ text),
exactly as `billtracker serve` does; plus the pure helpers behind them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from datasette.utils import tilde_encode

from billtracker.serve.datasette import datasette_app
from billtracker.serve.read.chardiff import diff_html, segments
from billtracker.serve.read.journey import feed_links, is_merged_report
from billtracker.serve.read.timing import summary
from tests.conftest import CIO_BILL, TODAY

ARTICLE_6_2010 = "行政院設行政院主計總處及行政院人事行政總處。"
COMMITTEE = "司法及法制委員會"


@pytest.fixture(scope="module")
def site(full_crawled_db: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BILLTRACKER_TODAY", TODAY)
        yield full_crawled_db


def get(db_path: Path, path: str) -> tuple[int, str]:
    async def fetch():  # type: ignore[no-untyped-def]
        return await datasette_app(db_path).client.get(path)

    response = asyncio.run(fetch())
    return response.status_code, response.text


def page(db_path: Path, path: str) -> BeautifulSoup:
    status, html = get(db_path, path)
    assert status == 200, html[:2000]
    return BeautifulSoup(html, "html.parser")


def timeline(soup: BeautifulSoup) -> list[tuple[str, str]]:
    return [(li["data-stage"], li["data-on"]) for li in soup.select(".bt-timeline li.stage")]


CIO_TIMELINE = [
    ("filed", "2016-10-12"),
    ("first-reading", "2016-10-14"),
    ("referred", "2016-10-14"),
    ("committee-listed", "2017-03-22"),
]  # no expiry: the samples were captured 2018-11-01, before term 9 ended


@pytest.mark.slow
def test_plugin_is_registered(site: Path) -> None:
    status, body = get(site, "/-/plugins.json")
    assert status == 200
    assert '"billtracker"' in body and "register_routes" in body


@pytest.mark.slow
def test_bill_page_timeline(site: Path) -> None:
    soup = page(site, f"/-/bill/{CIO_BILL}")
    assert timeline(soup) == CIO_TIMELINE
    stages = {li["data-stage"]: li for li in soup.select(".bt-timeline li.stage")}
    assert COMMITTEE in stages["referred"].select_one(".venue").get_text()
    assert "2016-10-18" in stages["first-reading"].select_one(".when").get_text()  # two-day sitting
    assert "排入院會(交司法及法制委員會)" in stages["first-reading"]["title"]  # raw text on hover
    assert "排入院會(交司法及法制委員會)" in stages["first-reading"].select_one(".detail").get_text()
    assert "derived" not in stages["referred"]["class"]
    days = (date(2018, 11, 1) - date(2017, 3, 22)).days  # counted to the newest record, not today
    assert f"{days} days so far (to 2018-11-01, the newest record)" in stages["committee-listed"].get_text()
    caveat = soup.select_one(".bt-caveat").get_text()
    assert "as of 2018-11-01" in caveat and "2020-01-31" in caveat  # the page says it cannot know more
    assert soup.select_one(".bt-facts .evidence")["data-evidence-kind"] == "flow"
    assert "0 days until the next stage" in stages["first-reading"].get_text()


@pytest.mark.slow
def test_bill_page_milestones_and_sponsors(site: Path) -> None:
    soup = page(site, f"/-/bill/{CIO_BILL}")
    reached = [li["data-milestone"] for li in soup.select(".bt-milestones li.reached")]
    assert reached == ["filed", "first-reading", "committee"]
    sponsors = soup.select(".bt-sponsors li")
    assert "proposer" in sponsors[0]["class"] and "許毓仁" in sponsors[0].get_text()
    assert len(soup.select(".bt-sponsors li.cosponsor")) == 19
    assert "鄭天財Sra．Kacaw" in soup.select_one(".bt-sponsors").get_text()


@pytest.mark.slow
def test_bill_page_links_and_articles(site: Path) -> None:
    soup = page(site, f"/-/bill/{CIO_BILL}")
    hrefs = {a["href"] for a in soup.select("a[href]")}
    assert "/-/law/01010" in hrefs
    assert f"/billtracker/bill_timeline.json?bill_no={CIO_BILL}&_shape=array" in hrefs
    [article] = soup.select(".bt-articles li")
    assert article["data-article"] == "0006-00" and "not in our sources" in article.get_text()
    in_force = article.select_one("figure.in-force")  # MOJ text where the bill has no table
    assert in_force["data-snapshot"] == "2010-02-03"
    assert in_force.select_one("blockquote").get_text() == ARTICLE_6_2010
    assert soup.select_one(".bt-bill a[href^='http://lci.ly.gov.tw']")  # 關係文書


@pytest.mark.slow
def test_row_page_shows_the_journey(site: Path) -> None:
    soup = page(site, f"/billtracker/bills/{CIO_BILL}")
    assert timeline(soup) == CIO_TIMELINE
    assert soup.select_one("table.rows-and-columns")  # Datasette's own row table is still there


@pytest.mark.slow
def test_related_and_merged_bills(site: Path) -> None:
    soup = page(site, "/-/bill/1050616070200500")
    merged = soup.select(".bt-bill tr.merged")
    assert [tr.select_one("td").get_text(strip=True) for tr in merged] == ["1050926070300100"]


@pytest.mark.slow
def test_unknown_bill_is_404(site: Path) -> None:
    assert get(site, "/-/bill/1234")[0] == 404
    assert get(site, "/-/law/99999")[0] == 404


@pytest.mark.slow
def test_law_page_article_6(site: Path) -> None:
    soup = page(site, "/-/law/01010")
    section = soup.select_one("section.bt-article[data-article='0006-00']")
    bills = [li["data-bill"] for li in section.select("li.proposal")]
    assert CIO_BILL in bills and {"1051027070200800", "1061218070201500"} <= set(bills)
    [in_force] = section.select("figure.in-force")
    assert in_force["data-snapshot"] == "2010-02-03"  # the 9th term's text, not 2023's
    assert in_force.select_one("blockquote").get_text() == ARTICLE_6_2010
    cio = section.select_one(f"li.proposal[data-bill='{CIO_BILL}']")
    assert "not in our sources" in cio.get_text() and "行政院資訊總處" in cio.get_text()  # its 案由


@pytest.mark.slow
def test_law_page_by_name_and_order(site: Path) -> None:
    soup = page(site, "/-/law/" + tilde_encode("行政院組織法"))
    keys = [s["data-article"] for s in soup.select("section.bt-article")]
    assert keys == sorted(keys) and keys[:2] == ["0006-00", "0015-00"]
    assert soup.select_one("svg.box-chart title").get_text().endswith("行政院組織法")


@pytest.mark.slow
def test_law_page_diff_from_table(site: Path) -> None:
    soup = page(site, "/-/law/01177")
    proposal = soup.select_one(
        "section.bt-article[data-article='0014-00'] li.proposal[data-bill='202110213410000']"
    )
    diff = proposal.select_one(".diff")
    # 二十 -> 十八 at character level: 二 removed, 十 kept, 八 added
    assert [d.get_text() for d in diff.select("del")] == ["二"]
    assert [i.get_text() for i in diff.select("ins")] == ["八"]
    assert not diff.get_text().startswith("第十四條")  # the article number is not part of the diff
    assert "年滿" in diff.get_text()
    assert "the 現行 text the bill quotes" in proposal.get_text()
    quoted = soup.select_one("section.bt-article[data-article='0014-00'] figure.quoted")
    assert quoted.select_one("blockquote").get_text() == "中華民國國民，年滿二十歲，有選舉權。"


@pytest.mark.slow
def test_time_in_stage_and_stuck(site: Path) -> None:
    spell = (date(2018, 11, 1) - date(2016, 10, 14)).days  # to the newest record: nothing later is known
    soup = page(site, f"/-/time-in-stage?days={spell - 1}")
    stuck = [tr["data-bill"] for tr in soup.select("table.stuck tr[data-bill]")]
    assert CIO_BILL in stuck
    row = soup.select_one(f"table.stuck tr[data-bill='{CIO_BILL}']").get_text()
    assert str(spell) in row and "still there as of 2018-11-01" in row
    soup = page(site, f"/-/time-in-stage?days={spell}")
    assert CIO_BILL not in [tr["data-bill"] for tr in soup.select("table.stuck tr[data-bill]")]
    tables = soup.select("table.stats")
    assert COMMITTEE in tables[0].get_text() and "委員提案" in tables[1].get_text()
    assert soup.select_one("label[for='bt-days']") and soup.select_one("svg.box-chart")


@pytest.mark.slow
@pytest.mark.parametrize("days", ["abc", "-5", ""])
def test_bad_days_fall_back(site: Path, days: str) -> None:
    soup = page(site, f"/-/time-in-stage?days={days}")
    expected = "0" if days == "-5" else "180"
    assert soup.select_one("input#bt-days")["value"] == expected


@pytest.mark.slow
def test_committee_page(site: Path) -> None:
    soup = page(site, "/-/committee/" + tilde_encode(COMMITTEE) + "?days=700")  # 748 days to 2018-11-01
    assert soup.select_one("h1").get_text() == COMMITTEE
    assert CIO_BILL in [tr["data-bill"] for tr in soup.select("table.stuck tr[data-bill]")]
    assert soup.select_one("svg.box-chart")


@pytest.mark.slow
@pytest.mark.parametrize("q", ["資訊總處", "资讯总处", "資訊", "资讯"])
def test_search_traditional_and_simplified(site: Path, q: str) -> None:
    soup = page(site, "/-/search?q=" + quote(q))
    results = [li["data-bill"] for li in soup.select(".bt-results > li")]
    assert CIO_BILL in results
    assert soup.select_one(f".bt-results a[href='/-/bill/{CIO_BILL}']")
    assert soup.select_one(".bt-results mark")


@pytest.mark.slow
def test_search_finds_article_text(site: Path) -> None:
    """Simplified query; the 11th-term bill has it only in its 對照表. Hits are exactly the bills
    whose title, 案由 or article text contain the Traditional phrase."""
    import sqlite_utils

    db = sqlite_utils.Database(site)
    expected = {
        r[0]
        for r in db.execute(
            "select bill_no from bills where instr(title, ?) or instr(reason, ?) union "
            "select bill_no from articles where instr(text, ?) or instr(explanation, ?)",
            ["年滿十八歲"] * 4,
        )
    }
    soup = page(site, "/-/search?q=" + quote("年满十八岁"))
    hits = {li["data-bill"]: li for li in soup.select(".bt-results > li")}
    assert set(hits) == expected and "202110213410000" in expected
    fields = [span.get_text() for span in hits["202110213410000"].select(".field")]
    assert fields == ["條文"]


@pytest.mark.slow
def test_search_box_is_labelled(site: Path) -> None:
    soup = page(site, "/-/search")
    field = soup.select_one("input#bt-q")
    assert field["name"] == "q" and soup.select_one("label[for='bt-q']")


@pytest.mark.slow
def test_stylesheet_served(site: Path) -> None:
    status, css = get(site, "/-/billtracker/pages.css")
    assert status == 200 and ".bt-timeline" in css


# --- pure helpers -------------------------------------------------------------------------------


def test_char_diff() -> None:
    old, new = "年滿二十歲，有選舉權。", "年滿十八歲，有選舉權。"
    assert segments(old, new) == [
        ("equal", "年滿"),
        ("delete", "二"),
        ("equal", "十"),
        ("insert", "八"),
        ("equal", "歲，有選舉權。"),
    ]
    assert str(diff_html("<a>", "<b>")) == '&lt;<del title="removed">a</del><ins title="added">b</ins>&gt;'


def test_summary() -> None:
    assert summary([1, 2, 3, 4, 100]) == {"n": 5, "median": 3, "q1": 2, "q3": 4, "min": 1, "max": 100}
    assert summary([7]) == {"n": 1, "median": 7, "q1": 7, "q3": 7, "min": 7, "max": 7}


def test_merged_report() -> None:
    assert is_merged_report("1050926070300100", "")
    assert not is_merged_report(CIO_BILL, "「行政院組織法第六條條文修正草案」")


def test_atom_links_only_where_a_feed_exists() -> None:
    queries = {
        "bill_timeline": {"sql": "select * from stages where bill_no = :bill_no"},
        "bill_changes": {"sql": "select seq as atom_id from stages where bill_no = :bill_no"},
    }
    links = feed_links({"databases": {"db": {"queries": queries}}}, "db", CIO_BILL)
    assert [link["href"] for link in links if "Atom" in link["label"]] == [
        f"/db/bill_changes.atom?bill_no={CIO_BILL}"
    ]


def test_box_chart() -> None:
    from billtracker.serve.read.svgchart import box_chart

    stats = [
        {"stage_label": "一讀", "n": 3, "median": 0, "q1": 0, "q3": 1, "min": 0, "max": 2},
        {"stage_label": "交付審查 <x>", "n": 2, "median": 150, "q1": 100, "q3": 200, "min": 50, "max": 1204},
    ]
    svg = BeautifulSoup(str(box_chart(stats, "Days & stages")), "html.parser")
    assert svg.select_one("svg")["role"] == "img"
    assert svg.select_one("svg > title").get_text() == "Days & stages"
    assert len(svg.select("rect.box")) == 2 and len(svg.select("line.median")) == 2
    assert "交付審查 <x>" in svg.get_text()  # escaped, not markup
    assert str(box_chart([], "empty")) == ""


def test_committee_spell_open_until_today() -> None:
    from billtracker.serve.read.timing import committee_spells

    def stage(slug: str, on: str, committee: str = "", origin: str = "flow") -> dict[str, str]:
        return {"stage": slug, "order_on": on, "committee": committee, "origin": origin}

    bills = [
        {
            "bill_no": "open",
            "title": "",
            "committee": "",
            "stages": [
                stage("filed", "2025-01-01"),
                stage("referred", "2025-01-10", "內政委員會"),
                stage("committee-review", "2025-03-01", "內政委員會"),
            ],
        },
        {
            "bill_no": "done",
            "title": "",
            "committee": "",
            "stages": [
                stage("referred", "2025-01-10", "內政委員會"),
                stage("committee-reported", "2025-02-09", "內政委員會"),
                stage("third-reading", "2025-05-01"),
            ],
        },
        {"bill_no": "never", "title": "", "committee": "", "stages": [stage("filed", "2025-01-01")]},
    ]
    spells = {s["bill_no"]: s for s in committee_spells(bills, date(2025, 4, 10))}
    assert set(spells) == {"open", "done"}
    assert (spells["open"]["days"], spells["open"]["open"], spells["open"]["until"]) == (
        90,
        True,
        "2025-04-10",
    )
    assert (spells["done"]["days"], spells["done"]["ended_by"]) == (30, "審查完畢")


@pytest.mark.slow
def test_skip_link_is_first_and_targets_main(site: Path) -> None:
    soup = page(site, f"/-/bill/{CIO_BILL}")
    first = soup.select_one("body a[href]")
    assert first["href"] == "#bt-main" and soup.select_one("#bt-main")
