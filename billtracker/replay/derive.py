"""Build the data a local replay of the ly.govapi.tw v2 API (立法院 API v2) serves.

Two kinds of records come out of the recorded samples (see ../shared/samples/PROVENANCE.md):

CAPTURED -- real v2 responses (``ly.govapi.tw_v2/ly-mcp_*.json``). Their bytes are kept verbatim
in ``ReplayData.captures`` and their ``data`` objects join the pools as they are.

DERIVED -- NOT captured from ly.govapi.tw. Records shaped like v2 objects, built field by field
from other sources, so spiders can crawl 9th-term bills that the v2 captures do not cover:

* bills: from misq ``bill-detail_<billNo>.json`` (parsed misq5000QueryBillDetail HTML) and
  ``proposal_<billNo>.json`` (its ``csv``: a verbatim data.ly.gov.tw dataset 20 row; its ``pdf``:
  fields parsed from the 關係文書 PDF), law codes from lis ``kong0107-lis.ly_catalogue_laws.csv``.
* laws: one per row of that catalogue (代碼, 法條名稱, 狀態 only).

Quirks of the sources are kept on purpose (entry order, empty 會議代碼 and 會期 strings, both
days of a two-day sitting, names as spelled): the replay must exercise the spiders' handling
of them. Facts a source does not carry are "" / [] / None, never invented.

The samples are read from a directory outside the repository; nothing is copied into it.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .lyapi import Rules

ENV_SAMPLES = "BILLTRACKER_SAMPLES"

V2_DIR = "ly.govapi.tw_v2"
MISQ_DIR = "misq.ly.gov.tw_bill-detail_parsed"
CATALOGUE = "lis.ly.gov.tw/kong0107-lis.ly_catalogue_laws.csv"
BILL_DETAIL = f"{V2_DIR}/ly-mcp_bill_detail.json"
BILLS_LIST = f"{V2_DIR}/ly-mcp_bills_list.json"
LAW_DETAIL = f"{V2_DIR}/ly-mcp_law_detail.json"
LAWS_LIST = f"{V2_DIR}/ly-mcp_laws_list.json"
STAT = f"{V2_DIR}/ly-mcp_stat.json"

# The misq repository's HEAD commit date (PROVENANCE.md, section 1): the latest moment the
# derived bill facts can be said to have been fetched. The exact fetch time was not recorded.
MISQ_FETCHED_AT = "2018-11-01T00:00:00+08:00"

GOVERNMENT_PROPOSERS = ("行政院", "司法院", "考試院", "監察院")


def capture_key(path: str, params: list[tuple[str, str]] | None = None) -> str:
    """Canonical decoded "path?query" with parameters sorted, so param order never matters."""
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params))


# Request path + query (canonical) -> the sample file that answers it verbatim.
CAPTURED_REQUESTS: dict[str, str] = {
    capture_key("/v2/bills/202110213410000"): BILL_DETAIL,
    capture_key(
        "/v2/bills", [("屆", "11"), ("議案類別", "法律案"), ("page", "1"), ("limit", "1")]
    ): BILLS_LIST,
    capture_key("/v2/laws/09200015"): LAW_DETAIL,
    capture_key("/v2/laws", [("page", "1"), ("limit", "1")]): LAWS_LIST,
    capture_key("/v2/stat"): STAT,
}


LAW_KEYS_DEFAULTS: dict[str, Any] = {
    "法律編號": "",
    "類別": "",
    "母法編號": "",
    "名稱": "",
    "其他名稱": [],
    "別名": [],
    "主管機關": [],
    "法律狀態": "",
    "最新版本": None,
    "最早版本": None,
}


class SamplesNotFound(FileNotFoundError):
    """The samples directory (or a file the replay needs in it) does not exist."""


@dataclass
class ReplayData:
    """Everything the replay server serves, loaded once from the samples directory."""

    samples_dir: Path
    bills: dict[str, dict] = field(default_factory=dict)
    laws: dict[str, dict] = field(default_factory=dict)
    captures: dict[str, bytes] = field(default_factory=dict)
    derived_from: dict[str, list[str]] = field(default_factory=dict)
    bill_relations: dict[str, Any] = field(default_factory=dict)
    law_relations: dict[str, Any] = field(default_factory=dict)
    scale: Any = None  # a ScaleCorpus (replay/scale.py) answering bill lists/details, if set
    corpus: Any = None  # a Corpus (replay/corpus.py) of real records served beside the samples
    # LYAPI's list rules: the 10,000-result window and the default sort (replay/lyapi.py).
    rules: Rules = field(default_factory=Rules)


def default_samples_dir() -> Path:
    """Samples dir when none is given: $BILLTRACKER_SAMPLES, else ../shared/samples of the repo."""
    env = os.environ.get(ENV_SAMPLES)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def resolve_samples_dir(samples_dir: Path | str | None = None) -> Path:
    """Argument > env > default; fail loudly, naming the path, when it is not a directory."""
    path = Path(samples_dir) if samples_dir is not None else default_samples_dir()
    if not path.is_dir():
        # An installed wheel has no ../shared beside it: say what the folder is and how to name it.
        raise SamplesNotFound(
            f"samples directory not found: {path} (the recorded responses the replay serves, "
            f"../shared/samples beside a clone: pass --replay DIR / demo --samples DIR, or set {ENV_SAMPLES})"
        )
    return path


def _read_bytes(samples_dir: Path, rel: str) -> bytes:
    """Read one sample file, raising SamplesNotFound with its full path if absent."""
    path = samples_dir / rel
    if not path.is_file():
        raise SamplesNotFound(f"sample file not found: {path}")
    return path.read_bytes()


def _read_json(samples_dir: Path, rel: str) -> Any:
    return json.loads(_read_bytes(samples_dir, rel).decode("utf-8"))


# --- laws -------------------------------------------------------------------------------------


def read_catalogue(samples_dir: Path) -> list[dict[str, str]]:
    """Rows (代碼, 法條名稱, 狀態) of lis's law catalogue, in file order."""
    text = _read_bytes(samples_dir, CATALOGUE).decode("utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


def derive_law(row: dict[str, str]) -> dict[str, Any]:
    """DERIVED v2 law object from one catalogue row: only 代碼, 法條名稱 and 狀態 are known.

    類別 is "母法" because the catalogue lists only statutes (5-digit codes), never 子法.
    """
    return {
        **LAW_KEYS_DEFAULTS,
        "法律編號": row["代碼"],
        "類別": "母法",
        "名稱": row["法條名稱"],
        "法律狀態": row["狀態"],
    }


def with_law_defaults(law: dict[str, Any]) -> dict[str, Any]:
    """A captured law object with any key it lacks filled empty (not guessed)."""
    return {**LAW_KEYS_DEFAULTS, **law}


def build_laws(samples_dir: Path, catalogue: list[dict[str, str]]) -> dict[str, dict]:
    """Derived catalogue laws, then the captured v2 laws on top (captured wins per code)."""
    laws = {row["代碼"]: derive_law(row) for row in catalogue}
    captured = list(_read_json(samples_dir, LAWS_LIST)["laws"])
    captured.append(_read_json(samples_dir, LAW_DETAIL)["data"])
    for law in captured:
        laws[law["法律編號"]] = with_law_defaults(law)
    return laws


# --- law names in a bill title ----------------------------------------------------------------

_QUOTED = re.compile(r"「([^」]+)」")
# A law name ends in one of these words; what follows is the amendment wording.
_LAW_NAME = re.compile(
    r"^(?P<name>.+?(?:法|條例|通則|規程|章程|律))"
    r"(?:第.+|部分條文.*|刪除.*|增訂.*|全文.*|條文.*|修正.*|草案)?$"
)


def law_names_in_title(title: str) -> list[str]:
    """Law names quoted in a bill title, amendment words stripped, in order, no duplicates.

    「行政院組織法第六條條文修正草案」 -> 行政院組織法; 「行政院資訊總處組織法草案」 ->
    行政院資訊總處組織法; 廢止「蒙藏委員會組織法」 -> 蒙藏委員會組織法.
    """
    names: list[str] = []
    for quoted in _QUOTED.findall(title):
        quoted = quoted.removeprefix("廢止").strip()
        match = _LAW_NAME.match(quoted)
        name = match.group("name") if match else quoted
        if name not in names:
            names.append(name)
    return names


def law_codes_by_name(catalogue: list[dict[str, str]]) -> dict[str, list[str]]:
    """法條名稱 -> codes. A few names map to several codes (e.g. an abolished and a current one)."""
    index: dict[str, list[str]] = {}
    for row in catalogue:
        index.setdefault(row["法條名稱"], []).append(row["代碼"])
    return index


def derive_law_fields(title: str, index: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """DERIVED 法律編號 and 法律編號:str: names found in the catalogue, with all their codes.

    A name absent from the catalogue (e.g. a new law still being drafted) gets no code.
    """
    codes: list[str] = []
    names: list[str] = []
    for name in law_names_in_title(title):
        for code in index.get(name, []):
            codes.append(code)
            names.append(name)
    return codes, names


# --- bills ------------------------------------------------------------------------------------


def derive_flow_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """DERIVED v2 議案流程 entry from one misq entry (misq's 日期 is [[會議代碼, ISO date], ...]).

    "會議代碼" is an extra key, absent from real v2 entries: it keeps misq's per-date meeting
    codes (e.g. the committee code "2017031608", or "") so nothing of the source is lost.
    """
    pairs = entry.get("日期", [])
    return {
        "日期": [pair[1] for pair in pairs],
        "狀態": entry.get("狀態", ""),
        "會期": entry.get("會期", ""),
        "院會/委員會": entry.get("院會/委員會", ""),
        "會議代碼": [pair[0] for pair in pairs],
    }


def plenary_meeting_code(flow: list[dict[str, Any]]) -> str:
    """DERIVED top-level 會議代碼 "院會-9-2-6" from the first plenary entry with a full 會期.

    Entries whose 會期 lacks a part (1050307070200500 has "09-03-") are skipped: they do not
    name a sitting. Numeric parts lose leading zeros; others (extra session "T01.01") stay.
    """
    for entry in flow:
        parts = entry["會期"].split("-")
        if entry["院會/委員會"] == "院會" and len(parts) == 3 and all(parts):
            return "院會-" + "-".join(str(int(p)) if p.isdigit() else p for p in parts)
    return ""


def flow_term(flow: list[dict[str, Any]]) -> int | None:
    """The term a flow's 會期 names ("09-01-11" -> 9), when every entry that names one agrees."""
    terms = {int(e["會期"].split("-")[0]) for e in flow if e["會期"].split("-")[0].isdigit()}
    return terms.pop() if len(terms) == 1 else None


def latest_date(flow: list[dict[str, Any]]) -> str:
    """DERIVED 最新進度日期: the greatest non-empty date of any entry ("" if none)."""
    dates = [d for entry in flow for d in entry["日期"] if d]
    return max(dates, default="")


def proposal_source(proposer: str) -> str:
    """DERIVED 提案來源 from the 提案單位/提案委員 text ("" when neither pattern applies)."""
    if proposer.startswith("本院委員"):
        return "委員提案"
    if proposer.startswith(GOVERNMENT_PROPOSERS):
        return "政府提案"
    return ""


def proposal_numbers(pdf: dict[str, Any], source: str) -> tuple[str, str]:
    """DERIVED (提案編號, 字號) from the PDF's 院總第 and 提案號, e.g. ("70委19631", ...).

    Only for 委員提案: the "委" form is what legislators' bills carry. A government bill's
    format is not in any sample, so it stays "" rather than being guessed.
    """
    total, number = pdf.get("院總第", ""), pdf.get("提案號", "")
    if not (total and number and source == "委員提案"):
        return "", ""
    return f"{total}委{number}", f"院總第{total}號委員提案第{number}號"


def _int_or_none(text: str) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def people(detail: dict[str, Any], pdf: dict[str, Any], key: str) -> list[str]:
    """提案人 / 連署人: misq's list; when it is missing or empty, the PDF's; else [].

    misq lists are empty for some bills (1061218070201500) whose PDF names the proposers.
    """
    return list(detail.get(key) or pdf.get(key) or [])


def derive_bill(
    bill_no: str,
    detail: dict[str, Any],
    proposal: dict[str, Any],
    index: dict[str, list[str]],
    fetched_at: str = MISQ_FETCHED_AT,
) -> dict[str, Any]:
    """DERIVED v2 bill ``data`` object from misq bill-detail + proposal (csv row and PDF fields).

    議案類別 is "法律案" for every sample bill (all 27 propose or abolish laws). 對照表 is []:
    no sample records one. 資料抓取時間 is the capture date: the misq commit date
    (MISQ_FETCHED_AT) for the samples, a corpus' own for its records. 屆 comes from the
    dataset-20 row, else from the flow's 會期 ("09-01-11"): a bill page without a proposal file
    still names its term; with neither, 屆 is None, not guessed.
    """
    row = proposal.get("csv") or {}
    pdf = proposal.get("pdf") or {}
    source = proposal_source(detail["提案單位/提案委員"])
    number, reference = proposal_numbers(pdf, source)
    codes, names = derive_law_fields(detail["議案名稱"], index)
    flow = [derive_flow_entry(e) for e in detail["議案流程"]] if "議案流程" in detail else None
    record: dict[str, Any] = {
        "屆": _int_or_none(row.get("term", "")) or flow_term(flow or []),
        "議案編號": bill_no,
        "會議代碼": plenary_meeting_code(flow or []),
        "資料抓取時間": fetched_at,
        "提案日期": pdf.get("published_date", ""),
        "最新進度日期": latest_date(flow or []),
        "法律編號": codes,
        "法律編號:str": names,
        "相關附件": [{"名稱": a["名稱"], "網址": a["連結"]} for a in detail.get("相關附件", [])],
    }
    if flow is not None:  # misq sometimes has no 議案流程 key: omit it too, as the source does
        record["議案流程"] = flow
    record |= {
        "關連議案": [{"議案編號": r["billNo"], "議案名稱": r["名稱"]} for r in detail.get("關連議案", [])],
        "議案名稱": detail["議案名稱"],
        "提案單位/提案委員": detail["提案單位/提案委員"],
        "議案狀態": detail.get("議案狀態", ""),
        "提案人": people(detail, pdf, "提案人"),
        "連署人": people(detail, pdf, "連署人"),
        "議案類別": "法律案",
        "提案來源": source,
        "會期": _int_or_none(row.get("sessionPeriod", "")),
        "字號": reference,
        "提案編號": number,
        "案由": pdf.get("案由", ""),
        "對照表": [],
        "url": f"https://ppg.ly.gov.tw/ppg/bills/{bill_no}/details",
    }
    return record


def misq_bill_numbers(samples_dir: Path) -> list[str]:
    """billNos that have a misq bill-detail file, sorted."""
    folder = samples_dir / MISQ_DIR
    if not folder.is_dir():
        raise SamplesNotFound(f"sample folder not found: {folder}")
    return sorted(p.stem.removeprefix("bill-detail_") for p in folder.glob("bill-detail_*.json"))


def build_corpus_bills(
    corpus: Any, index: dict[str, list[str]], bills: dict[str, dict], derived_from: dict[str, list[str]]
) -> None:
    """Derived bills of a corpus (replay/corpus.py): one per bill page; a missing proposal file
    leaves the fields it would give empty (its gap is in corpus.gaps)."""
    for bill_no, detail_path in corpus.details.items():
        detail = json.loads(detail_path.read_text(encoding="utf-8"))
        proposal_path = corpus.proposals.get(bill_no)
        proposal = json.loads(proposal_path.read_text(encoding="utf-8")) if proposal_path else {}
        bills[bill_no] = derive_bill(bill_no, detail, proposal, index, corpus.captured_at)
        derived_from[bill_no] = [str(detail_path)] + ([str(proposal_path)] if proposal_path else [])


def build_bills(
    samples_dir: Path, catalogue: list[dict[str, str]], corpus: Any = None
) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """Derived misq bills (the samples', then a corpus' on top), plus the captured v2 bill;
    returns (bills, derived_from)."""
    index = law_codes_by_name(catalogue)
    bills: dict[str, dict] = {}
    derived_from: dict[str, list[str]] = {}
    for bill_no in misq_bill_numbers(samples_dir):
        detail_rel = f"{MISQ_DIR}/bill-detail_{bill_no}.json"
        proposal_rel = f"{MISQ_DIR}/proposal_{bill_no}.json"
        detail = _read_json(samples_dir, detail_rel)
        proposal = _read_json(samples_dir, proposal_rel)
        bills[bill_no] = derive_bill(bill_no, detail, proposal, index)
        derived_from[bill_no] = [detail_rel, proposal_rel, CATALOGUE]
    if corpus is not None:
        build_corpus_bills(corpus, index, bills, derived_from)
    captured = _read_json(samples_dir, BILL_DETAIL)["data"]
    bills[captured["議案編號"]] = captured
    derived_from[captured["議案編號"]] = [BILL_DETAIL]
    return bills, derived_from


def load_captures(samples_dir: Path) -> dict[str, bytes]:
    """Verbatim bodies of the captured v2 responses, keyed by the request they answer."""
    return {key: _read_bytes(samples_dir, rel) for key, rel in CAPTURED_REQUESTS.items()}


def load_replay(samples_dir: Path | str | None = None, corpus: Any = None) -> ReplayData:
    """Load captured and derive the rest; samples_dir falls back to default_samples_dir().
    `corpus`: a replay.corpus.Corpus served beside the samples."""
    root = resolve_samples_dir(samples_dir)
    catalogue = read_catalogue(root)
    bills, derived_from = build_bills(root, catalogue, corpus)
    return ReplayData(
        corpus=corpus,
        samples_dir=root,
        bills=bills,
        laws=build_laws(root, catalogue),
        captures=load_captures(root),
        derived_from=derived_from,
        bill_relations=_read_json(root, BILL_DETAIL)["supported_relations"],
        law_relations=_read_json(root, LAW_DETAIL)["supported_relations"],
    )
