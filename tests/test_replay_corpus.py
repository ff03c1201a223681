"""The replay serves a real corpus (../shared/corpus/ly-term9 layout) beside the samples.

A corpus with holes is crawled, not refused; each hole is one problem row; every derived record
carries the corpus' capture date. The whole shared corpus goes through the real engine once per
session (`corpus_crawl` in conftest.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlite_utils

from billtracker.replay.corpus import CorpusNotDated, load_corpus
from billtracker.replay.derive import load_replay
from billtracker.replay.server import route


def small_corpus(tmp_path: Path, corpus_dir: Path, details: list[str], proposals: list[str]) -> Path:
    """A corpus of a few real records copied into tmp_path (never into the repository)."""
    root = tmp_path / "corpus"
    (root / "bill-detail").mkdir(parents=True)
    (root / "proposal").mkdir()
    for bill_no in details:
        shutil.copy(corpus_dir / "bill-detail" / f"{bill_no}.json", root / "bill-detail")
    for bill_no in proposals:
        shutil.copy(corpus_dir / "proposal" / f"{bill_no}.json", root / "proposal")
    (root / "PROVENANCE.md").write_text("- **Captured:** up to 2018-11-01. Test corpus.\n")
    return root


def one_without(corpus_dir: Path, folder: str, other: str) -> str:
    """A billNo of the shared corpus with a file in `folder` and none in `other`."""
    mine = {p.stem for p in (corpus_dir / folder).glob("*.json")}
    theirs = {p.stem for p in (corpus_dir / other).glob("*.json")}
    return sorted(mine - theirs)[0]


def test_shared_corpus_gaps_are_listed_not_refused(corpus_dir: Path) -> None:
    corpus = load_corpus(corpus_dir)
    details = {p.stem for p in (corpus_dir / "bill-detail").glob("*.json")}
    proposals = {p.stem for p in (corpus_dir / "proposal").glob("*.json")}
    assert len(corpus.details) == len(details) and len(corpus.proposals) == len(proposals)
    assert len(corpus.gaps) == len(details ^ proposals) > 0
    assert {g.bill_no for g in corpus.gaps} == details ^ proposals
    assert corpus.captured_on == "2018-11-01"


def test_a_bill_page_without_proposal_is_still_a_bill(
    tmp_path: Path, corpus_dir: Path, samples_dir: Path
) -> None:
    lone = one_without(corpus_dir, "bill-detail", "proposal")
    corpus = load_corpus(small_corpus(tmp_path, corpus_dir, [lone], []))
    assert [g.missing for g in corpus.gaps] == [f"proposal/{lone}.json"]
    data = load_replay(samples_dir, corpus)
    status, body, _ = route(data, f"/v2/bills/{lone}", [])
    record = json.loads(body)["data"]
    assert status == 200
    assert record["資料抓取時間"] == "2018-11-01T00:00:00+08:00"
    assert record["提案日期"] == ""  # the PDF fields came with the missing file: empty, not guessed
    assert record["屆"] == 9  # from the flow's 會期, the record's own


def test_a_proposal_without_bill_page_is_a_dataset20_row(
    tmp_path: Path, corpus_dir: Path, samples_dir: Path
) -> None:
    lone = one_without(corpus_dir, "proposal", "bill-detail")
    data = load_replay(samples_dir, load_corpus(small_corpus(tmp_path, corpus_dir, [], [lone])))
    status, _, _ = route(data, f"/v2/bills/{lone}", [])
    assert status == 404
    status, body, headers = route(data, "/odw/usageFile.action", [("id", "20"), ("type", "CSV")])
    assert status == 200 and lone in body.decode("utf-8-sig")
    assert headers["Last-Modified"] == "Wed, 31 Oct 2018 16:00:00 GMT"  # 2018-11-01 00:00 in Taipei


def test_an_undated_corpus_is_refused_by_name(tmp_path: Path, corpus_dir: Path) -> None:
    root = small_corpus(tmp_path, corpus_dir, [one_without(corpus_dir, "bill-detail", "proposal")], [])
    (root / "PROVENANCE.md").write_text("no date here\n")
    with pytest.raises(CorpusNotDated, match="PROVENANCE.md"):
        load_corpus(root)
    assert load_corpus(root, captured="2019-05-01").captured_on == "2019-05-01"


@pytest.mark.slow
def test_whole_corpus_crawl_stores_every_record(corpus_crawl: tuple[Path, str], corpus_dir: Path) -> None:
    db = sqlite_utils.Database(corpus_crawl[0])
    corpus = load_corpus(corpus_dir)
    stored = {b for (b,) in db.execute("select bill_no from bills")}
    assert set(corpus.details) <= stored  # every bill page, gaps included
    assert set(corpus.proposals) <= stored  # every dataset-20 row, bill page or not
    captured = {
        r[0] for r in db.execute("select distinct fetched_at from source_bills where source = 'opendata'")
    }
    assert captured, "dataset 20 rows were read"


@pytest.mark.slow
def test_each_gap_is_one_problem(corpus_crawl: tuple[Path, str], corpus_dir: Path) -> None:
    db = sqlite_utils.Database(corpus_crawl[0])
    rows = list(db.query("select bill_no, url, times from problems where kind = 'corpus-gap'"))
    assert sorted(r["bill_no"] for r in rows) == sorted(g.bill_no for g in load_corpus(corpus_dir).gaps)
    assert all(r["times"] == 1 for r in rows)
    assert "gaps" in corpus_crawl[1]  # the CLI says what it serves
