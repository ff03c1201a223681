"""A folder of real misq records laid out like ../shared/corpus/ly-term9, served by the replay.

Layout (ronnywang/ly.gov.tw's own folder names): ``bill-detail/<billNo>.json`` (a parsed misq
bill page) and ``proposal/<billNo>.json`` (its dataset-20 ``csv`` row and ``pdf`` fields), plus a
PROVENANCE.md whose ``**Captured:**`` line dates the records.

Real corpora have holes: ly-term9 has 15 bill pages without a proposal file and 31 proposals
without a bill page. A hole is a gap to record (``Corpus.gaps``), never a reason to refuse the
corpus: a bill page alone still makes an LYAPI-shaped record, a proposal alone still is a
dataset-20 row.

The capture date matters for the truth: the records say nothing of what happened after it, so a
bill without a third reading in them may have passed later. It is served as each derived
record's 資料抓取時間 and as the Last-Modified of the dataset-20 downloads built from it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .derive import SamplesNotFound

ENV_CORPUS = "BILLTRACKER_CORPUS"
DETAIL_DIR = "bill-detail"
PROPOSAL_DIR = "proposal"
_CAPTURED = re.compile(r"\*\*Captured:\*\*\s*(?:up to\s*)?(\d{4}-\d{2}-\d{2})")


class CorpusNotDated(SamplesNotFound):
    """The corpus names no capture date: without one, expiry cannot be judged by the data's age."""


@dataclass(frozen=True)
class Gap:
    """One record a bill lacks: `missing` is the relative path that does not exist."""

    bill_no: str
    missing: str
    present: str


@dataclass
class Corpus:
    root: Path
    captured_on: str  # ISO day: the newest moment the records can describe
    details: dict[str, Path] = field(default_factory=dict)
    proposals: dict[str, Path] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    @property
    def captured_at(self) -> str:
        """資料抓取時間 of every derived record: the start of the capture day in Taipei."""
        return f"{self.captured_on}T00:00:00+08:00"


def default_corpus_dir() -> Path:
    """$BILLTRACKER_CORPUS, else ../shared/corpus/ly-term9 beside the repository."""
    env = os.environ.get(ENV_CORPUS)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "ly-term9"


def captured_on(root: Path, override: str = "") -> str:
    """The capture date: `override` (YYYY-MM-DD), else PROVENANCE.md's **Captured:** line."""
    if override:
        return date.fromisoformat(override).isoformat()
    provenance = root / "PROVENANCE.md"
    found = _CAPTURED.search(provenance.read_text(encoding="utf-8")) if provenance.is_file() else None
    if not found:
        raise CorpusNotDated(
            f"corpus {root}: no '**Captured:** YYYY-MM-DD' line in PROVENANCE.md; pass --captured-on"
        )
    return found.group(1)


def load_corpus(root: Path | str, captured: str = "") -> Corpus:
    """Index the corpus' files (read lazily by the replay) and list its gaps, in billNo order."""
    root = Path(root)
    if not root.is_dir():
        raise SamplesNotFound(f"corpus directory not found: {root}")
    details = {p.stem: p for p in sorted((root / DETAIL_DIR).glob("*.json"))}
    proposals = {p.stem: p for p in sorted((root / PROPOSAL_DIR).glob("*.json"))}
    if not details and not proposals:
        raise SamplesNotFound(f"corpus {root}: no {DETAIL_DIR}/*.json nor {PROPOSAL_DIR}/*.json")
    gaps = [
        Gap(b, f"{PROPOSAL_DIR}/{b}.json", f"{DETAIL_DIR}/{b}.json") for b in details if b not in proposals
    ] + [Gap(b, f"{DETAIL_DIR}/{b}.json", f"{PROPOSAL_DIR}/{b}.json") for b in proposals if b not in details]
    gaps.sort(key=lambda g: (g.bill_no, g.missing))
    return Corpus(root, captured_on(root, captured), details, proposals, gaps)
