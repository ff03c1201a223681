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

_HAN_CHARS = "\u3400-\u9fff\uf900-\ufaff"
_DOTS = "‧．·•・."  # every middle dot the rosters and the columns use (高潞‧以用 / 高潞．以用)
_SEPARATOR = re.compile(r"[;；,，、]")
# A word: a run without whitespace; the gap before it says how it sits in the column.
_WORD = re.compile(r"(?P<gap>[\s]*)(?P<word>[^\s]+)")
_HAN_PART = f"[{_HAN_CHARS}](?:[{_HAN_CHARS}{_DOTS}]*[{_HAN_CHARS}])?"
_LATIN_WORD = f"[A-Za-z][A-Za-z'\\-{_DOTS}]*"
_NAME = re.compile(f"^(?:{_HAN_PART})?(?:{_LATIN_WORD}(?: {_LATIN_WORD})*)?$")
_LATIN_ONLY = re.compile(f"^{_LATIN_WORD}$")
_SINGLE_HAN = re.compile(f"^[{_HAN_CHARS}]$")


def name_like(text: str) -> bool:
    """A person's or caucus's name: at most 8 Han characters with their middle dots (谷辣斯．尤達卡,
    高潞‧以用‧巴魕剌), a Latin name (Kolas Yotaka, kolas Yotaka), or both glued (鄭天財Sra Kacaw,
    高潞‧以用‧巴魕剌Kawlo．Iyun．Pacidal); a law title or an article is none of these."""
    if text.endswith("黨團"):
        return True
    if not text or not _NAME.match(text) or text.startswith(("本院", "委員")):
        return False  # 本院委員Kolas Yotaka等17人 (1050630070201100) describes, it names nobody
    han = re.sub(f"[^{_HAN_CHARS}]", "", text)
    latin = re.sub(f"[{_HAN_CHARS}]", "", text)
    return len(han) <= 8 and len(latin) <= 40


EXT = {"CSV": "csv", "JSON": "json"}


_DESCRIBED = re.compile(r"^\s*(?:本院)?委員(?P<name>.+?)\s*等\s*\d+\s*人\s*$")
_LATIN_THEN_HAN = re.compile(f"(?<=[A-Za-z])(?=[{_HAN_CHARS}])")
_LATIN_TAIL = re.compile(f"{_LATIN_WORD}(?: {_LATIN_WORD})*$")


def _words(text: str) -> list[tuple[str, str]]:
    """(gap before, word) pairs; a separator (、 ; ，) is a gap of its own, NBSP is whitespace.
    A name never has Han after Latin letters: Kawlo．Iyun．Pacidal劉建國 (1050707070200600) is
    two names glued, split with an empty gap."""
    spaced = _SEPARATOR.sub("\n", text or "")
    out = []
    for m in _WORD.finditer(spaced):
        for j, word in enumerate(_LATIN_THEN_HAN.split(m.group("word"))):
            out.append((m.group("gap") if j == 0 else "", word))
    return out


def _continues_latin(name: str, gap: str, word: str) -> bool:
    """Is `word` the next Latin word of `name`? Kolas　　Yotaka and 鄭天財Sra　　Kacaw are (a one-word
    Latin part goes on across any gap); Kawlo．Iyun．Pacidal　　Kolas Yotaka are two people."""
    if "\n" in gap or not _LATIN_ONLY.match(word):
        return False
    tail = _LATIN_TAIL.search(name)
    if not tail:
        return False
    one_word = not re.search(f"[ {_DOTS}]", tail.group(0))
    return one_word or len(gap) <= 1


def split_names(text: str) -> tuple[list[str], str]:
    """Dataset 20's name columns -> (names, the text left over when it stops being names).

    Names sit in five-character columns padded with U+3000: 葉宜津 + two U+3000, 陳賴素美 + one
    (1051027070200900: 陳賴素美　吳焜裕), 陳　瑩 centred (1060519070200500). Latin names have
    gaps of any width inside (1050526070200400: Kolas　　Yotaka; 1050202070200300: Kolas + NBSP +
    space + Yotaka; 1070331070201200: 鄭天財Sra　　Kacaw), so Latin words after a word ending in
    Latin letters are one name. A Han name before a Latin one across a gap stays a name of its
    own: 施義芳　Kolas Yotaka is two people, 鄭天財 Sra Kacaw one, and only the roster can tell
    (pipelines/normalise/names.py identities). Upstream sometimes spills other text into the column
    (1060519070200500's billCosignatory runs on into the law's articles): reading stops there and
    the rest is returned so the spider can report it. A column that describes the bill's
    sponsors as the bill page does (1050914070200200: 本院委員許毓仁等17人) names its proposer.
    """
    described = _DESCRIBED.match(text or "")
    if described and name_like(described.group("name")):
        return [described.group("name")], ""
    names: list[tuple[str, int]] = []  # (name, index of its first word)
    words = _words(text)
    for i, (gap, word) in enumerate(words):
        last = names[-1][0] if names else ""
        if last and _continues_latin(last, gap, word):
            names[-1] = (f"{last} {word}", names[-1][1])  # Kolas　　Yotaka, Kolas\xa0 Yotaka
            continue
        soft = len(gap) <= 1 and "\n" not in gap and "\r" not in gap
        if soft and _SINGLE_HAN.match(word) and _SINGLE_HAN.match(last):
            names[-1] = (last + word, names[-1][1])  # 陳　瑩
            continue
        if last and not name_like(last):
            break
        names.append((word, i))
    if names and not name_like(names[-1][0]):
        first = names.pop()[1]
        rest = "".join(gap + word for gap, word in words[first:])
        return [n for n, _ in names], re.sub(r"\s+", " ", rest).strip()
    return [n for n, _ in names], ""


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
        if self.settings.getbool("TW_LY_OPENDATA_ROSTERS"):
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
                    {
                        "column": "billProposer" if junk_p else "billCosignatory",
                        "text": (junk_p or junk_c)[:200],
                    },
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
