"""What spiders hand to pipelines: raw records exactly as published, plus provenance.

Spiders never normalise: the record dict is the source's own JSON object, so pipelines can be
re-run over stored raw data and every fact keeps its source URL, fetch time and body hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Provenance:
    source_url: str
    fetched_at: str  # UTC ISO 8601
    content_sha256: str
    spider: str


@dataclass
class BillItem:
    """One bill as a source published it (LYAPI v2 `data` object)."""

    bill_no: str
    record: dict[str, Any]
    provenance: Provenance
    source: str = "lyapi"


@dataclass
class LawItem:
    """One law as a source published it (LYAPI v2 law object)."""

    law_code: str
    record: dict[str, Any]
    provenance: Provenance
    source: str = "lyapi"


@dataclass
class FetchItem:
    """One HTTP response received, kept whatever its status: the crawl's own provenance log."""

    url: str
    status: int
    fetched_at: str
    content_sha256: str
    bytes: int
    spider: str
    content_type: str = ""


@dataclass
class ProblemItem:
    """Something that could not be read. Recorded in `problems`; the run goes on."""

    kind: str
    message: str
    url: str
    spider: str
    bill_no: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class LawTextItem:
    """One law's text and 沿革 as law.moj.gov.tw published it (either export format)."""

    pcode: str
    record: dict[str, Any]
    provenance: Provenance
    source: str = "moj"
