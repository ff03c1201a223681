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
    # When the source captured what it served (its Last-Modified), if it says: a download
    # rebuilt daily from old records is as old as they are, whenever it is fetched. "" = unknown.
    captured_at: str = ""


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
    # The request whose answer this is (scrapers/missed.py request_record): when the kind loses
    # data (pipelines/store/runs.py loses_data) the run records it in `missed_requests` to fetch again.
    request: dict[str, Any] | None = None


@dataclass
class LawTextItem:
    """One law's text and 沿革 as law.moj.gov.tw published it (either export format)."""

    pcode: str
    record: dict[str, Any]
    provenance: Provenance
    source: str = "moj"


@dataclass
class SourceBillItem:
    """One bill as a secondary source (ppg, open data, lis) published it, already read into the
    shared shape below; every string is as published (dates raw, names unsplit where the source
    joins them). `key` identifies the record in its source: billNo, or 提案編號 for lis, whose
    records carry no billNo (reconcile resolves it through bills.proposal_no)."""

    source: str  # ppg | opendata | lis
    key: str
    bill_no: str | None
    provenance: Provenance
    term: str = ""
    proposal_no: str = ""
    title: str = ""
    status_raw: str = ""  # the source's latest-status field (議案狀態, billStatus, 進度)
    status_on_raw: str = ""  # its date when the source gives one (lis 進度 "1060322   ...")
    filed_on_raw: str = ""
    proposers: list[str] = field(default_factory=list)
    cosponsors: list[str] = field(default_factory=list)
    related: list[dict[str, str]] = field(default_factory=list)  # {bill_no, title}
    flow: list[dict[str, Any]] = field(default_factory=list)  # {status_raw, dates, venue, session_code}
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class LawHistoryItem:
    """One law's 立法歷程 (lis): each entry's 進度, 會議日期, 立法紀錄 (gazette) as published."""

    law_code: str
    name: str
    entries: list[dict[str, Any]]
    versions: list[str]
    provenance: Provenance
    source: str = "lis"


@dataclass
class LegislatorItem:
    """One legislator in one term as a roster (open data dataset 9 / 16) lists them."""

    term: str
    name_raw: str
    ename: str
    party: str
    record: dict[str, Any]
    provenance: Provenance
    source: str = "opendata"


@dataclass
class PlanLeafItem:
    """Backfill planning (issue 11): one leaf query that fits the window, with its total; the
    store writes one `backfill_pages` row per page of it."""

    plan_id: int
    query: str  # the leaf query's JSON
    total: int
    pages: int
    first_page: int = 1  # > 1 when a leaf's total grew after planning: only the new pages


@dataclass
class PageDoneItem:
    """A backfill list page whose bills were all handed to the store before this item: stored in
    the same transaction as they are, it marks the page done exactly when they are committed."""

    plan_id: int
    query: str
    page: int
    total: int
