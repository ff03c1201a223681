"""tw_ly_opendata: data.ly.gov.tw dataset 20 (議案提案) and the legislator roster (dataset 9).

Dataset 20 is the official daily list with each bill's latest status only (no flow, no dates).
It comes as CSV and JSON; both are read, with their quirks: a UTF-8 BOM, a trailing comma on
every CSV line (an empty last column), names padded and separated by two U+3000, and a JSON
body of concatenated objects rather than one array. Dataset 9 (委員名單) feeds `legislators`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from scrapers.health import bad_body, check_term
from scrapers.items import LegislatorItem, SourceBillItem
from scrapers.tw_ly.common import SourceSpider
from scrapers.tw_ly.responses import BadBody, decode, fetch_item, provenance

_CHUNKS = re.compile(r"[\u3000 ]{2,}|[;；,，、\r\n\t]+")
_HAN = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+$")
_HAN_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·．]{1,8}$")
_LATIN_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·．]* ?[A-Za-z][A-Za-z·．. '\-]{0,39}$")


def name_like(text: str) -> bool:
    """A person's or caucus's name: at most 8 Han characters (谷辣斯．尤達卡), or a Latin name
    with an optional Han part; a law title or an article is neither."""
    return bool(_HAN_NAME.match(text) or _LATIN_NAME.match(text) or text.endswith("黨團"))


EXT = {"CSV": "csv", "JSON": "json"}


def _chunk_names(chunk: str) -> list[str]:
    """One run between double spaces: a name, a padded two-character name, or two names."""
    parts = [p for p in chunk.split("\u3000") if p.strip()]
    if len(parts) < 2:
        return [chunk.strip()]
    if all(len(p) == 1 and _HAN.match(p) for p in parts):
        return ["".join(parts)]  # 陳　瑩: a two-character name centred in its column
    if _HAN.match(parts[0]) and not _HAN.match(parts[1]):
        return [" ".join(p.strip() for p in parts)]  # 鄭天財　Sra．Kacaw: one person
    return [p.strip() for p in parts]  # 陳賴素美　吳焜裕: a four-character name, then the next


def split_names(text: str) -> tuple[list[str], str]:
    """Dataset 20's name columns -> (names, the text left over when it stops being names).

    Names sit in five-character columns padded with U+3000: 葉宜津 + two U+3000, 陳賴素美 + one
    (1051027070200900: 陳賴素美　吳焜裕), 陳　瑩 centred (1060519070200500), Kolas Yotaka in Latin
    letters. Upstream sometimes spills other text into the column (1060519070200500's
    billCosignatory runs on into the law's articles): reading stops there and the rest is returned
    so the spider can report it.
    """
    names: list[str] = []
    chunks = [c.strip(" \u3000") for c in _CHUNKS.split(text or "")]
    for chunk in (c for c in chunks if c):
        for name in _chunk_names(chunk):
            if not name_like(name):
                rest = " ".join(c for c in chunks if c)
                return names, rest[max(rest.find(chunk), 0) :]
            names.append(name)
    return names, ""


def read_csv_rows(text: str) -> list[dict[str, str]]:
    """Rows of a data.ly.gov.tw CSV; the empty column a trailing comma makes is dropped."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append({k: (v or "") for k, v in row.items() if k})
    return rows


def read_json_rows(text: str) -> list[dict[str, Any]]:
    """Rows of a data.ly.gov.tw JSON body: concatenated objects ({...}{...}), a {"jsonList": [...]}
    wrapper or a plain array -- all three occur."""
    decoder = json.JSONDecoder()
    rows: list[dict[str, Any]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        while pos < len(text) and text[pos] in " \r\n\t,":
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise BadBody(
                "malformed-json", f"body is not JSON objects: {exc.msg} at char {exc.pos}"
            ) from None
        if isinstance(value, dict) and isinstance(value.get("jsonList"), list):
            rows.extend(v for v in value["jsonList"] if isinstance(v, dict))
        elif isinstance(value, list):
            rows.extend(v for v in value if isinstance(v, dict))
        elif isinstance(value, dict):
            rows.append(value)
    return rows


class TwLyOpendataSpider(SourceSpider):
    name = "tw_ly_opendata"
    source = "opendata"
    allowed_domains = ["data.ly.gov.tw", "127.0.0.1", "localhost"]

    @property
    def base(self) -> str:
        return self.settings.get("TW_LY_OPENDATA_BASE").rstrip("/")

    def dataset_url(self, dataset: int, fmt: str) -> str:
        return f"{self.base}/odw/usageFile.action?id={dataset}&type={fmt}&fname={dataset}_{fmt}.{EXT[fmt]}"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for fmt in self.settings.getlist("TW_LY_OPENDATA_FORMATS"):
            yield self.request(self.dataset_url(20, fmt), self.parse_bills, fmt=fmt)
        if self.settings.getbool("TW_LY_OPENDATA_ROSTERS", True):
            yield self.request(self.dataset_url(9, "CSV"), self.parse_roster)

    def rows(self, response: Response, fmt: str) -> list[dict[str, Any]]:
        kind = bad_body(response.body)
        if kind:
            raise BadBody(kind, f"{kind} where dataset rows were expected")
        text = decode(response.body)
        if text.lstrip().startswith("<"):
            raise BadBody("block-page", "HTML where dataset rows were expected")
        return read_csv_rows(text) if fmt == "CSV" else read_json_rows(text)

    def parse_bills(self, response: Response, fmt: str) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            rows = self.rows(response, fmt)
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        if not rows:
            # The daily list is never empty: zero rows is a broken download, not a quiet day.
            yield self.problem(response, "empty-page", f"dataset 20 ({fmt}) has no rows")
            return
        prov = provenance(response, self.name)
        for i, row in enumerate(rows, start=1):
            bill_no = str(row.get("billNo") or "").strip()
            if not bill_no:
                yield self.problem(response, "wrong-shape", f"row {i} without billNo")
                continue
            if not check_term(self, self.source, row.get("term"), f"{response.url} row {i}"):
                continue
            proposers, junk_p = split_names(str(row.get("billProposer") or ""))
            cosponsors, junk_c = split_names(str(row.get("billCosignatory") or ""))
            if junk_p or junk_c:
                yield self.problem(
                    response,
                    "not-names",
                    f"row {i} ({bill_no}): name column runs on into other text: {(junk_p or junk_c)[:40]!r}",
                    bill_no,
                )
            yield SourceBillItem(
                source=self.source,
                key=bill_no,
                bill_no=bill_no,
                provenance=prov,
                term=str(row.get("term") or "").strip(),
                title=str(row.get("billName") or ""),
                status_raw=str(row.get("billStatus") or ""),
                proposers=proposers,
                cosponsors=cosponsors,
                record=row,
            )

    def parse_roster(self, response: Response) -> Iterator[Any]:
        yield fetch_item(response, self.name)
        try:
            rows = self.rows(response, "CSV")
        except BadBody as exc:
            yield self.problem(response, exc.kind, exc.message)
            return
        if not rows:
            yield self.problem(response, "empty-page", "dataset 9 has no rows")
            return
        prov = provenance(response, self.name)
        for row in rows:
            if not str(row.get("name") or "").strip():
                continue
            yield LegislatorItem(
                term=str(row.get("term") or "").strip(),
                name_raw=str(row["name"]),
                ename=str(row.get("ename") or ""),
                party=str(row.get("party") or ""),
                record=row,
                provenance=prov,
            )
