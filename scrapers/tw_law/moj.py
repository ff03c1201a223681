"""tw_law_moj: law text by article and 沿革 (promulgation history) from law.moj.gov.tw.

Reads MOJ's law JSON in any of the shapes it has been published in: the bulk export (a zip or a
JSON object with "Laws"), or one law's object in the current English-keyed or the 2019
Chinese-keyed format. Only the laws named in TW_LAW_MOJ_PCODES are kept from a bulk file.
The live bulk URL is unverified here (no network): the replay serves the recorded slices.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import scrapy
from scrapy.http import Response

from scrapers.items import LawTextItem
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.responses import BadBody, classify_non_json, fetch_item, provenance


def pcode_from_url(url: str) -> str:
    """A law's pcode from its law.moj.gov.tw URL (LawAll.aspx?pcode=A0010001)."""
    return (parse_qs(urlsplit(url).query).get("pcode") or [""])[0]


def law_records(body: bytes) -> list[dict[str, Any]]:
    """Every law object in a body: zip of JSON files, {"Laws": [...]}, or one law object."""
    if body[:2] == b"PK":
        records: list[dict[str, Any]] = []
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                if name.lower().endswith(".json"):
                    records += law_records(archive.read(name))
        return records
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadBody("bad-encoding", "body is not UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise classify_non_json(text) from None
    if isinstance(data, dict) and isinstance(data.get("Laws"), list):
        return [law for law in data["Laws"] if isinstance(law, dict)]
    if isinstance(data, dict) and ("LawName" in data or "法規名稱" in data):
        return [data]
    raise BadBody("wrong-shape", "neither a MOJ law object nor a bulk export")


def record_pcode(record: dict[str, Any]) -> str:
    return pcode_from_url(str(record.get("LawURL") or record.get("法規網址") or ""))


class TwLawMojSpider(SourceSpider):
    name = "tw_law_moj"
    allowed_domains = ["law.moj.gov.tw", "127.0.0.1", "localhost"]

    async def start(self) -> Any:
        for url in self.settings.getlist("TW_LAW_MOJ_URLS"):
            yield scrapy.Request(url, callback=self.parse, errback=self.on_error)

    def parse(self, response: Response) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        wanted = set(self.settings.getlist("TW_LAW_MOJ_PCODES"))
        try:
            records = law_records(response.body)
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        bulk = len(records) > 1
        kept = [r for r in records if not bulk or record_pcode(r) in wanted]
        if not kept:
            # A law file that yields no law is an error, not an empty success.
            yield self.problem(response, "empty-page", f"no law among {len(records)} records")
            return
        for record in kept:
            yield LawTextItem(record_pcode(record), record, provenance(response, self.name))
