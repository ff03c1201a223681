"""Issue 10, part 5, on the real corpus: dates and names as published, doubts recorded.

The whole shared corpus (3,597 real 9th-term bills) crawled once per session (`corpus_crawl`).
Each test checks one invariant over every bill; a failure names a few examples.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipelines.normalise.date_doubts import outside_term
from pipelines.normalise.names import alias_key

pytestmark = pytest.mark.slow


def rows(db_path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def test_no_live_stage_is_dated_outside_its_bills_term(corpus_crawl: tuple[Path, str]) -> None:
    """Promulgation is the President's act and may follow the term's end: it is not checked."""
    stages = rows(
        corpus_crawl[0],
        'SELECT s.bill_no, s.seq, s."on", b.term FROM stages s JOIN bills b USING (bill_no)'
        " WHERE s.gone_at IS NULL AND s.\"on\" IS NOT NULL AND s.stage != 'promulgated'",
    )
    assert len(stages) > 10000
    outside = [(b, seq, on) for b, seq, on, term in stages if outside_term(on, term)]
    assert outside == []


def test_no_filing_date_after_the_first_reading(corpus_crawl: tuple[Path, str]) -> None:
    late = rows(
        corpus_crawl[0],
        'SELECT b.bill_no, b.filed_on, min(s."on") FROM bills b JOIN stages s USING (bill_no)'
        " WHERE s.origin = 'flow' AND s.gone_at IS NULL AND s.\"on\" IS NOT NULL AND b.filed_on IS NOT NULL"
        ' GROUP BY b.bill_no HAVING b.filed_on > min(s."on")',
    )
    assert late == []
    outside = rows(corpus_crawl[0], "SELECT bill_no, filed_on, term FROM bills WHERE filed_on IS NOT NULL")
    assert [r for r in outside if outside_term(r[1], r[2])] == []


def test_every_doubted_date_is_kept_raw_and_recorded(corpus_crawl: tuple[Path, str]) -> None:
    db = corpus_crawl[0]
    doubted = rows(
        db, 'SELECT bill_no, seq, dates, "on", date_doubt FROM stages WHERE date_doubt IS NOT NULL'
    )
    kinds = {d.split(" ")[0] for *_, d in doubted}
    assert {"impossible", "outside", "after"} <= kinds, "the corpus has all three kinds"
    assert all(json.loads(dates) for _, _, dates, _, _ in doubted), "the raw text is kept"
    filings = [(b, on) for b, seq, _, on, _ in doubted if seq == 0]
    assert filings and all(on is None for _, on in filings), "a doubted filing date is never `on`"
    recorded = {
        b
        for (b,) in rows(
            db,
            "SELECT bill_no FROM problems WHERE kind = 'doubtful-date'"
            " UNION SELECT bill_no FROM disagreements WHERE field = 'filed_on'",
        )
    }
    assert sorted({b for b, *_ in doubted} - recorded) == []
    raw = rows(db, "SELECT bill_no FROM bills WHERE filed_on_raw IS NOT NULL")
    assert sorted({b for (b,) in raw} - recorded) == []
    assert len(raw) >= len(filings)


def test_not_names_problems_name_no_legislator(corpus_crawl: tuple[Path, str]) -> None:
    db = corpus_crawl[0]
    index = {
        alias_key(alias)
        for (aliases,) in rows(db, "SELECT aliases FROM legislators")
        for alias in json.loads(aliases)
    }
    assert alias_key("Kolas Yotaka") in index and alias_key("高潞‧以用‧巴魕剌") in index
    problems = rows(db, "SELECT message, detail FROM problems WHERE kind = 'not-names'")
    named = []
    for message, detail in problems:
        words = json.loads(detail)["text"].split()
        if {alias_key(words[0]), alias_key(" ".join(words[:2]))} & index:
            named.append(message)
    assert named == []
    assert len(problems) < 60  # 418 before issue 10, 376 of them legislators


def test_legislators_of_every_spelling_are_linked(corpus_crawl: tuple[Path, str]) -> None:
    db = corpus_crawl[0]
    spellings = {
        raw: legislator
        for raw, legislator in rows(
            db,
            "SELECT name_raw, legislator_id FROM sponsors WHERE name_raw LIKE '%Kolas%'"
            " OR name_raw LIKE '%Kacaw%' OR name_raw LIKE '%Kawlo%'",
        )
    }
    assert len(spellings) >= 3
    assert {raw for raw, legislator in spellings.items() if legislator is None} == set()


def test_a_proposer_named_by_any_source_is_stored(corpus_crawl: tuple[Path, str]) -> None:
    db = corpus_crawl[0]
    missing = rows(
        db,
        "SELECT DISTINCT sb.bill_no FROM source_bills sb JOIN bills b USING (bill_no)"
        " WHERE sb.proposers != '[]' AND NOT EXISTS"
        " (SELECT 1 FROM sponsors s WHERE s.bill_no = sb.bill_no AND s.role = 'proposer')",
    )
    assert missing == []
    filled = rows(db, "SELECT DISTINCT source FROM sponsors WHERE role = 'proposer' AND source != 'lyapi'")
    assert ("opendata",) in filled


def test_the_bill_page_shows_a_doubted_date_and_a_filled_proposer(corpus_crawl: tuple[Path, str]) -> None:
    """Found by query, not by number: a bill whose 提案日期 follows its first reading, and a
    legislator's bill whose proposer only another source names."""
    from tests.test_pages import page, timeline

    db = corpus_crawl[0]
    [(late, raw)] = rows(
        db,
        "SELECT bill_no, filed_on_raw FROM bills WHERE filed_on_raw IS NOT NULL AND filed_on IS NULL"
        " AND bill_no IN (SELECT bill_no FROM stages WHERE seq = 0 AND date_doubt LIKE 'after%')"
        " ORDER BY bill_no LIMIT 1",
    )
    soup = page(db, f"/-/bill/{late}")
    assert timeline(soup)[0] == ("filed", "")  # first, and undated
    assert raw in soup.select_one(".bt-timeline p.date-doubt").get_text()
    [(filled, name)] = rows(
        db,
        "SELECT bill_no, name_raw FROM sponsors WHERE role = 'proposer' AND source != 'lyapi'"
        " AND kind = 'legislator' ORDER BY bill_no LIMIT 1",
    )
    assert name in page(db, f"/-/bill/{filled}").get_text()
