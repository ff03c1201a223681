"""Replay routes for the sources beside LYAPI: ppg, data.ly.gov.tw open data, lis mirrors.

Every host is served from the one replay origin under its own real path, so a spider crawls the
replay by changing only its base URL setting:
- ppg: SELF-WRITTEN fixtures (fixtures/ppg/ beside this module, package data; see its README): no
  raw ppg page exists; a bill with no fixture gets the real-looking 此筆資料尚未建置 placeholder page.
- open data dataset 20: DERIVED. The CSV and JSON downloads are rebuilt from the verbatim
  dataset-20 rows kept as `csv` in misq proposal_*.json, with the real downloads' quirks (UTF-8
  BOM, trailing comma on every CSV line, JSON as concatenated objects). Dataset 9 (委員名單) is
  the verbatim recorded CSV.
- lis: the kong0107/lis.ly law JSON files and the twly bills_9 extract, verbatim.
- LYAPI legislators: the captured /v2/legislators?屆=11&page=1&limit=1 verbatim; any other page
  is DERIVED from the two captured legislator records (the list's one and the detail's).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from .answers import json_response, page_of
from .derive import MISQ_DIR, MISQ_FETCHED_AT, ReplayData

# Package data: an installed wheel replays them too (pyproject.toml [tool.setuptools.package-data]).
PPG_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ppg"
LIS_DIR = "lis.ly.gov.tw"
LEGISLATOR_CSV = "data.ly.gov.tw/ronnywang_data_legislator.csv"
LIS_BILLS = "lis.ly.gov.tw/twly_bills_9.extract_organisational-laws.json"
LEGISLATORS_LIST = "ly.govapi.tw_v2/ly-mcp_legislators_list.json"
LEGISLATOR_DETAIL = "ly.govapi.tw_v2/ly-mcp_legislator_detail.json"
LEGISLATORS_CAPTURED_QUERY = [("limit", "1"), ("page", "1"), ("屆", "11")]
DATASET20_FIELDS = [
    "term",
    "sessionPeriod",
    "sessionTimes",
    "meetingTimes",
    "billNo",
    "billName",
    "billOrg",
    "billProposer",
    "billCosignatory",
    "billStatus",
    "pdfUrl",
    "docUrl",
    "selectTerm",
]
HTML = "text/html; charset=UTF-8"
JSON_TYPE = "application/json; charset=utf-8"
CSV_TYPE = "text/csv; charset=UTF-8"

Response = tuple[int, bytes, dict[str, str]]


@cache
def dataset20_rows(samples_dir: Path, corpus_proposals: tuple[Path, ...] = ()) -> tuple[dict[str, str], ...]:
    """The verbatim dataset-20 rows of every misq proposal file (the samples', then a corpus'
    for the same billNo on top), in billNo order."""
    paths = sorted((samples_dir / MISQ_DIR).glob("proposal_*.json")) + list(corpus_proposals)
    rows: dict[str, dict[str, str]] = {}
    for path in paths:
        row = json.loads(path.read_text(encoding="utf-8")).get("csv")
        if row:
            rows[str(row.get("billNo", ""))] = {k: str(row.get(k, "")) for k in DATASET20_FIELDS}
    return tuple(rows[b] for b in sorted(rows))


def _dataset20(data: ReplayData) -> tuple[dict[str, str], ...]:
    proposals = tuple(data.corpus.proposals.values()) if data.corpus is not None else ()
    return dataset20_rows(data.samples_dir, proposals)


def dataset20_csv(data: ReplayData) -> bytes:
    """DERIVED 20_CSV.csv: BOM, header, and a trailing comma on every line as the real file has."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=",\r\n")
    writer.writerow(DATASET20_FIELDS)
    for row in _dataset20(data):
        writer.writerow([row[k] for k in DATASET20_FIELDS])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def dataset20_json(data: ReplayData) -> bytes:
    """DERIVED JSON download: one object per row, concatenated with no array around them."""
    text = "".join(json.dumps(row, ensure_ascii=False) for row in _dataset20(data))
    return "\ufeff".encode() + text.encode("utf-8")


# When the recorded files were captured (samples/PROVENANCE.md): a replayed response says so in
# its Last-Modified, so a spider dates what it read by the data's age, not by the replay's clock
# (lis 進度 of 2018-09-06 fetched today must not make a 9th-term bill look checked after 2020).
TAIPEI = ZoneInfo("Asia/Taipei")
LIS_BILLS_CAPTURED = "2018-09-06"  # thewayiam/twly_fileHandler HEAD
LEGISLATORS_CAPTURED = "2018-10-30"  # ronnywang/ly.gov.tw data/legislator.csv last change


def dated(content_type: str, captured: str) -> dict[str, str]:
    """Last-Modified at the start of the capture day in Taipei, as the derived records'
    資料抓取時間 ("2018-11-01T00:00:00+08:00") say."""
    moment = datetime.fromisoformat(captured).replace(tzinfo=TAIPEI).astimezone(UTC)
    stamp = format_datetime(moment, usegmt=True)
    return {"Content-Type": content_type, "Last-Modified": stamp}


def captured_headers(data: ReplayData, content_type: str) -> dict[str, str]:
    """Headers of a download rebuilt from misq-era rows: dated by the corpus, else the samples."""
    return dated(content_type, data.corpus.captured_on if data.corpus is not None else MISQ_FETCHED_AT[:10])


def _dated_file(path: Path, content_type: str, captured: str) -> Response:
    status, body, headers = _file(path, content_type)
    return (status, body, dated(content_type, captured)) if status == 200 else (status, body, headers)


@cache
def legislator_pool(samples_dir: Path) -> tuple[dict, ...]:
    listed = json.loads((samples_dir / LEGISLATORS_LIST).read_text(encoding="utf-8"))["legislators"]
    detail = json.loads((samples_dir / LEGISLATOR_DETAIL).read_text(encoding="utf-8"))["data"]
    return tuple(listed) + (detail,)


def legislators(samples_dir: Path, query: list[tuple[str, str]]) -> Response:
    """/v2/legislators: the capture for its own query, else the pool filtered by 屆 and paged."""

    if sorted(query) == LEGISLATORS_CAPTURED_QUERY:
        return _file(samples_dir / LEGISLATORS_LIST, JSON_TYPE)
    terms = [v for k, v in query if k == "屆"]
    pool = [r for r in legislator_pool(samples_dir) if not terms or str(r.get("屆")) in terms]
    header, page = page_of(pool, query)
    return json_response(200, {**header, "filter": {"屆": terms} if terms else {}, "legislators": page})


def _file(path: Path, content_type: str) -> Response:
    if not path.is_file():
        return 404, b"Not Found", {"Content-Type": "text/plain; charset=utf-8"}
    return 200, path.read_bytes(), {"Content-Type": content_type}


def route_sources(data: ReplayData, path: str, query: list[tuple[str, str]]) -> Response | None:
    """The answer for a ppg / open data / lis path, or None when the path is not one of theirs."""
    samples_dir = data.samples_dir
    params = dict(query)
    if path == "/ppg/api/v1/all-bills":
        term, page = params.get("term", ""), params.get("page", "1")
        # self-written from the misq facts of 2018-11-01 (fixtures/ppg/README.md)
        return _dated_file(
            PPG_FIXTURES / f"all-bills_term{term}_page{page}.json", JSON_TYPE, MISQ_FETCHED_AT[:10]
        )
    if path.startswith("/ppg/bills/") and path.endswith("/details"):
        bill_no = path.split("/")[3]
        page = PPG_FIXTURES / f"{bill_no}_details.html"
        if not page.is_file():
            return _file(PPG_FIXTURES / "placeholder.html", HTML)
        return _dated_file(page, HTML, MISQ_FETCHED_AT[:10])
    if path == "/odw/usageFile.action":
        dataset, fmt = params.get("id"), params.get("type", "").upper()
        if dataset == "20" and fmt == "CSV":
            return 200, dataset20_csv(data), captured_headers(data, CSV_TYPE)
        if dataset == "20" and fmt == "JSON":
            return 200, dataset20_json(data), captured_headers(data, JSON_TYPE)
        if dataset == "9" and fmt == "CSV":
            return _dated_file(samples_dir / LEGISLATOR_CSV, CSV_TYPE, LEGISLATORS_CAPTURED)
        return 404, b"Not Found", {"Content-Type": "text/plain; charset=utf-8"}
    if path.startswith("/kong0107/lis.ly/json/"):
        code = path.rsplit("/", 1)[-1].removesuffix(".json")
        return _file(samples_dir / LIS_DIR / f"kong0107-lis.ly_json_{code}.json", JSON_TYPE)
    if path == "/v2/legislators":
        return legislators(samples_dir, query)
    if path == "/thewayiam/twly_fileHandler/master/bill/crawler/bills_9.json":
        return _dated_file(samples_dir / LIS_BILLS, JSON_TYPE, LIS_BILLS_CAPTURED)
    return None
