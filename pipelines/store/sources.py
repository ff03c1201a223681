"""SourcePipeline: store what ppg, open data and lis each say, in their own rows.

A secondary source never writes `bills` or `stages` directly: its reading goes to
`source_bills` / `source_stages`, and pipelines/reconcile/ merges them after the crawl, so
a source can never silently overwrite another. Unchanged records are no-ops (record hash).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

import sqlite_utils
from scrapy.crawler import Crawler

from pipelines.normalise.date_doubts import PROBLEM_KIND as DOUBT_KIND
from pipelines.normalise.date_doubts import read_date
from pipelines.normalise.dates import BadDate, parse_date
from pipelines.normalise.names import alias_key, clean_name, legislator_aliases, person_key
from pipelines.problems import record_problem
from pipelines.schema import open_db
from scrapers.clock import utc_now
from scrapers.items import LawHistoryItem, LegislatorItem, Provenance, SourceBillItem
from scrapers.stages import classify, clean_status

logger = logging.getLogger(__name__)
_VERSION = re.compile(r"中華民國(?P<y>\d+)年(?P<m>\d+)月(?P<d>\d+)日(?P<action>制定|修正|廢止|公布)")


def prov_cols(p: Provenance) -> dict[str, str]:
    return {"source_url": p.source_url, "fetched_at": p.fetched_at, "content_sha256": p.content_sha256}


def day(raw: Any) -> str | None:
    """A published date as ISO, None when empty or unreadable (the raw text stays in `record`)."""
    try:
        return parse_date(str(raw).strip() if raw else None)
    except BadDate:
        return None


def record_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def source_bill_rows(
    item: SourceBillItem,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, str]]]:
    """(source_bills row, source_stages rows, (kind, message) problems) for one item; pure.

    A doubted date (2016-00-00, a day outside the bill's term: pipelines/normalise/date_doubts.py) is not
    used; its raw text stays in `record` and a `doubtful-date` problem says which and why."""
    problems: list[tuple[str, str]] = []
    status = clean_status(item.status_raw)
    term = int(item.term) if str(item.term).strip().isdigit() else None

    def sound(raw: Any, where: str) -> str | None:
        on, doubt = read_date(raw, term)
        if doubt:
            problems.append(
                (
                    DOUBT_KIND,
                    f"{item.source} {where}: {str(raw).strip()!r} kept as published, not used: {doubt}",
                )
            )
        return on

    bill = {
        "source": item.source,
        "source_key": item.key,
        "bill_no": item.bill_no,
        "term": term,
        "proposal_no": item.proposal_no.strip(),
        "title": item.title.strip(),
        "status_raw": status,
        "status_stage": classify(status) if status else "",
        "status_on": sound(item.status_on_raw, "status date"),
        "filed_on": sound(item.filed_on_raw, "提案日期"),
        "proposers": json.dumps([n for n in item.proposers if clean_name(n)], ensure_ascii=False),
        "cosponsors": json.dumps([n for n in item.cosponsors if clean_name(n)], ensure_ascii=False),
        "related": json.dumps(item.related, ensure_ascii=False),
        "record": json.dumps(item.record, ensure_ascii=False),
        **prov_cols(item.provenance),
        "captured_at": item.provenance.captured_at or item.provenance.fetched_at,
    }
    # Content only: the same rows from the CSV and then the JSON download (other URL, same facts)
    # are one reading, so the second is a no-op and a re-crawl writes nothing.
    provenance_cols = {"source_url", "fetched_at", "content_sha256", "captured_at"}
    bill["record_sha256"] = record_hash({k: v for k, v in bill.items() if k not in provenance_cols})
    stages = []
    for seq, entry in enumerate(item.flow, start=1):
        raw = clean_status(str(entry.get("status_raw") or ""))
        dates = [d for d in (sound(x, f"flow entry {seq}") for x in entry.get("dates") or []) if d]
        if raw and classify(raw) == "unknown":
            problems.append(("unknown-stage", f"unmapped status {raw!r} in {item.source} flow entry {seq}"))
        stages.append(
            {
                "source": item.source,
                "source_key": item.key,
                "seq": seq,
                "stage": classify(raw),
                "status_raw": raw,
                "on": dates[0] if dates else None,
                "second_on": dates[1] if len(dates) > 1 else None,
                "venue": str(entry.get("venue") or "").strip(),
                "session_code": str(entry.get("session_code") or "").strip(),
                **prov_cols(item.provenance),
            }
        )
    if not item.flow and status and bill["status_on"]:
        # lis and open data give only the latest status; with a date it is still a dated event.
        stages.append(
            {
                "source": item.source,
                "source_key": item.key,
                "seq": 1,
                "stage": bill["status_stage"],
                "status_raw": status,
                "on": bill["status_on"],
                "second_on": None,
                "venue": "",
                "session_code": "",
                **prov_cols(item.provenance),
            }
        )
    return bill, stages, problems


class SourcePipeline:
    def __init__(self, db_path: str, crawler: Crawler | None = None) -> None:
        self.db_path = db_path
        self.crawler = crawler
        self.db: sqlite_utils.Database | None = None
        self.counts = {"source_inserted": 0, "source_updated": 0, "source_noop": 0}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourcePipeline:
        return cls(crawler.settings.get("BILLTRACKER_DB"), crawler)

    def open_spider(self, spider: Any = None) -> None:
        self.db = open_db(self.db_path)

    def close_spider(self, spider: Any = None) -> None:
        logger.info("source records: %s", self.counts)
        if self.crawler and self.crawler.stats:
            for key, value in self.counts.items():
                self.crawler.stats.set_value(f"billtracker/{key}", value)
        if self.db is not None:
            self.db.close()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        assert self.db is not None
        if isinstance(item, SourceBillItem):
            self.store_source_bill(item)
        elif isinstance(item, LawHistoryItem):
            self.store_law_history(item)
        elif isinstance(item, LegislatorItem):
            self.store_legislator(item)
        return item

    def record_problem(self, item: SourceBillItem, kind: str, message: str) -> None:
        """One row per distinct problem; seen again on a later crawl, it is counted (`times`)."""
        assert self.db is not None
        record_problem(
            self.db, item.provenance.spider, kind, message, item.provenance.source_url, item.bill_no
        )

    def store_source_bill(self, item: SourceBillItem) -> None:
        assert self.db is not None
        bill, stages, problems = source_bill_rows(item)
        for kind, message in problems:
            self.record_problem(item, kind, message)
        table = self.db["source_bills"]
        existing = next(table.rows_where("source = ? AND source_key = ?", [item.source, item.key]), None)
        if existing and existing["record_sha256"] == bill["record_sha256"]:
            self.counts["source_noop"] += 1
            updates = {}
            if (existing.get("captured_at") or "") < bill["captured_at"]:
                # Same facts, newer capture: the data is younger, which decides expiry.
                updates["captured_at"] = bill["captured_at"]
            if bill["source_url"] < (existing["source_url"] or ""):
                # The same reading from two downloads (dataset 20's CSV and JSON): the one named
                # is the first URL, not the first to arrive, so the database does not depend on
                # which response came back first.
                updates |= {k: bill[k] for k in ("source_url", "fetched_at", "content_sha256")}
                self.db.execute(
                    "UPDATE source_stages SET source_url = ?, fetched_at = ?, content_sha256 = ? "
                    "WHERE source = ? AND source_key = ?",
                    [bill["source_url"], bill["fetched_at"], bill["content_sha256"], item.source, item.key],
                )
            if updates:
                table.update((item.source, item.key), updates)
            return
        now = utc_now()
        bill["first_seen_at"] = existing["first_seen_at"] if existing else now
        bill["updated_at"] = now
        if existing and existing["bill_no"] and not bill["bill_no"]:
            bill["bill_no"] = existing["bill_no"]  # resolved earlier by reconcile
        with self.db.atomic():
            table.upsert(bill, pk=("source", "source_key"))
            if stages or not existing:
                # Stages are replaced only when the source lists some: less than before is kept.
                self.db["source_stages"].delete_where(
                    "source = ? AND source_key = ?", [item.source, item.key]
                )
                self.db["source_stages"].insert_all(stages, pk=("source", "source_key", "seq"))
        self.counts["source_updated" if existing else "source_inserted"] += 1

    def store_law_history(self, item: LawHistoryItem) -> None:
        assert self.db is not None
        rows = []
        for seq, entry in enumerate(item.entries, start=1):
            progress = clean_status(str(entry.get("進度") or ""))
            rows.append(
                {
                    "law_code": item.law_code,
                    "seq": seq,
                    "law_name": item.name,
                    "progress": progress,
                    "stage": classify(progress) if progress else "",
                    "meeting_on": day(entry.get("會議日期")),
                    "gazette_ref": str(entry.get("立法紀錄") or "").strip(),
                    "gazette_url": str(entry.get("立法紀錄連結") or "").strip(),
                    "proposer": str(entry.get("主提案") or "").strip(),
                    "documents": json.dumps(entry.get("關係文書") or [], ensure_ascii=False),
                    "source": item.source,
                    **prov_cols(item.provenance),
                }
            )
        if rows:
            self.db["law_histories"].upsert_all(rows, pk=("law_code", "seq"))
        versions = []
        for seq, text in enumerate(item.versions, start=1):
            found = _VERSION.search(text)
            versions.append(
                {
                    "law_code": item.law_code,
                    "seq": seq,
                    "law_name": item.name,
                    "text_raw": text,
                    "action": found.group("action") if found else "",
                    "on": day(f"{found.group('y')}/{found.group('m')}/{found.group('d')}") if found else None,
                    "source": item.source,
                    **prov_cols(item.provenance),
                }
            )
        if versions:
            self.db["lis_law_versions"].upsert_all(versions, pk=("law_code", "seq"))

    def store_legislator(self, item: LegislatorItem) -> None:
        assert self.db is not None
        key = person_key(item.name_raw)
        table = self.db["legislators"]
        existing = next(table.rows_where("id = ?", [key]), None)
        if existing is None:
            # The same person under another middle dot (高潞‧以用‧巴魕剌 / 高潞．以用．巴魕剌) is
            # the row already stored, not a second legislator.
            wanted = alias_key(key)
            existing = next(
                (r for r in table.rows if wanted in {alias_key(a) for a in json.loads(r["aliases"] or "[]")}),
                None,
            )
            key = existing["id"] if existing else key
        aliases = set(json.loads(existing["aliases"])) if existing else set()
        aliases |= legislator_aliases(item.name_raw, item.ename)
        terms = set(json.loads(existing["terms"])) if existing else set()
        if str(item.term).strip().isdigit():
            terms.add(int(item.term))
        table.upsert(
            {
                "id": key,
                "name": item.name_raw.strip(),
                "ename": item.ename.strip(),
                "aliases": json.dumps(sorted(aliases), ensure_ascii=False),
                "party": item.party.strip() or (existing or {}).get("party") or "",
                "terms": json.dumps(sorted(terms)),
                "source": item.source,
                **prov_cols(item.provenance),
            },
            pk="id",
        )
