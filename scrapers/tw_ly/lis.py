"""tw_ly_lis: 立法院法律系統 (lis.ly.gov.tw) law histories and bill progress.

lis pages live behind session links that expire, so the spider reads lis through the community
mirrors that scraped it (settings TW_LY_LIS_BASE, default raw.githubusercontent.com):
- kong0107/lis.ly (branch json): one JSON per LY law code with law_history, the 立法歷程 --
  進度, 會議日期 (ROC), 立法紀錄 (gazette reference and link), 主提案, 關係文書;
- thewayiam/twly_fileHandler: lis' 法律提案 search per term -- 提案編號 (70委19631), 提案日期,
  主提案/連署提案, and 進度 ("1060322   委員會審議中": the latest status and its date).
A lis bill has no billNo; reconcile resolves it through 提案編號 (and the title, when one 提案編號
covers several drafts).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from scrapers.health import check_term
from scrapers.items import LawHistoryItem, SourceBillItem
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.responses import BadBody, fetch_item, provenance, read_json

_PROGRESS = re.compile(r"^\s*(?P<on>\d{6,7})\s+(?P<status>.+?)\s*$")
_TERM = re.compile(r"^(?P<term>\d+)屆")


def split_progress(text: str) -> tuple[str, str]:
    """'1060322   委員會審議中' -> ('1060322', '委員會審議中'); no date -> ('', text)."""
    found = _PROGRESS.match(text or "")
    if not found:
        return "", (text or "").strip()
    return found.group("on"), found.group("status")


def term_of(session: str) -> str:
    """'09屆02期06次' -> '09'."""
    found = _TERM.match(session or "")
    return found.group("term") if found else ""


class TwLyLisSpider(SourceSpider):
    name = "tw_ly_lis"
    source = "lis"
    allowed_domains = ["raw.githubusercontent.com", "lis.ly.gov.tw", "127.0.0.1", "localhost"]

    @property
    def base(self) -> str:
        return self.settings.get("TW_LY_LIS_BASE").rstrip("/")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for code in self.settings.getlist("TW_LY_LIS_LAWS"):
            yield self.request(f"{self.base}/kong0107/lis.ly/json/{code}.json", self.parse_law, law_code=code)
        for path in self.settings.getlist("TW_LY_LIS_BILL_FILES"):
            yield self.request(f"{self.base}/{path.lstrip('/')}", self.parse_bills)

    def parse_law(self, response: Response, law_code: str) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            body = read_json(response)
            if not isinstance(body, dict) or not isinstance(body.get("law_history"), list):
                raise BadBody("wrong-shape", "law JSON without a law_history list")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        if not body["law_history"]:
            yield self.problem(response, "empty-page", f"law {law_code} has no 立法歷程 entries")
            return
        yield LawHistoryItem(
            law_code=law_code,
            name=str(body.get("title") or ""),
            entries=[e for e in body["law_history"] if isinstance(e, dict)],
            versions=[str(v) for v in body.get("versions") or []],
            provenance=provenance(response, self.name),
        )

    def parse_bills(self, response: Response) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            records = read_json(response)
            if not isinstance(records, list):
                raise BadBody("wrong-shape", "bill file is not a JSON array")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        if not records:
            yield self.problem(response, "empty-page", "lis bill file has no records")
            return
        prov = provenance(response, self.name)
        for i, rec in enumerate(records, start=1):
            number = str((rec or {}).get("提案編號") or "").strip()
            if not number:
                yield self.problem(response, "wrong-shape", f"record {i} without 提案編號")
                continue
            term = term_of(str(rec.get("會期") or ""))
            if not check_term(self, self.source, term, f"{response.url} record {i}"):
                continue
            on, status = split_progress(str(rec.get("進度") or ""))
            yield SourceBillItem(
                source=self.source,
                # One 提案編號 can cover a package of drafts (70委20031: 行政院組織法 and 中央行政機關
                # 組織基準法), so lis' own record number 系統號 is the key.
                key=str(rec.get("系統號") or "").strip() or number,
                bill_no=None,
                provenance=prov,
                term=term,
                proposal_no=number,
                title=str(rec.get("提案名稱") or ""),
                status_raw=status,
                status_on_raw=on,
                filed_on_raw=str(rec.get("提案日期") or ""),
                proposers=[str(n) for n in rec.get("主提案") or []],
                cosponsors=[str(n) for n in rec.get("連署提案") or []],
                record=rec,
            )
