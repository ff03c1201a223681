"""LYAPI v2 bill record -> rows for bills, stages, sponsors, laws, related bills, documents.

Pure functions: the same record always gives the same rows, so they are tested one field at a
time and re-run over stored raw data. Problems found on the way are returned, not raised: one
bad field must not cost the rest of the bill.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipelines.normalise.date_doubts import PROBLEM_KIND as DOUBT_KIND
from pipelines.normalise.date_doubts import filed_after_first_reading, read_date
from pipelines.normalise.dates import BadDate, parse_date
from pipelines.normalise.names import clean_name, person_key, sponsor_kind
from pipelines.normalise.stage_machine import (
    Event,
    capture_stamp,
    current_stage,
    expiry_evidence,
    stale_caveat,
    unknown_caveat,
    upgrade_first_readings,
)
from pipelines.normalise.stage_row import stage_row
from scrapers.items import BillItem
from scrapers.stages import LABELS, classify, clean_status, committee_in_status

DERIVED_SEQ = 1000
# json.dumps(value, ensure_ascii=False) builds a new encoder on every call; a row value is
# encoded ~20 times per bill. The same output from one encoder each.
to_json = json.JSONEncoder(ensure_ascii=False).encode
to_sorted_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


@dataclass
class Problem:
    kind: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class NormalisedBill:
    bill: dict[str, Any]
    stages: list[dict[str, Any]]
    sponsors: list[dict[str, Any]]
    laws: list[dict[str, Any]]
    related: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    problems: list[Problem]


def text(value: Any) -> str:
    """Trimmed, otherwise as published: NFKC would turn the full-width ，and （） of Chinese
    titles into ASCII, and Chinese text stays Chinese in the data. Matching keys (stage rules,
    person keys) normalise on their own copies."""
    if value is None:
        return ""
    return str(value).strip()


def to_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def content_hash(record: dict[str, Any]) -> str:
    """Hash of the record minus the fetch timestamp, so an unchanged bill is a no-op."""
    stable = {k: v for k, v in record.items() if k != "資料抓取時間"}
    return hashlib.sha256(to_sorted_json(stable).encode()).hexdigest()


def safe_date(value: Any, where: str, problems: list[Problem]) -> str | None:
    try:
        return parse_date(str(value) if value is not None else None)
    except BadDate as exc:
        problems.append(Problem("bad-date", f"{where}: {exc}", {"value": value}))
        return None


def flow_entries(record: dict[str, Any], problems: list[Problem]) -> list[dict[str, Any]]:
    flow = record.get("議案流程")
    if flow is None:
        problems.append(Problem("no-stage-flow", "bill has no 議案流程"))
        return []
    if not isinstance(flow, list):
        problems.append(Problem("wrong-shape", "議案流程 is not a list"))
        return []
    return [e for e in flow if isinstance(e, dict)]


def doubted(raw: Any, where: str, term: int | None, problems: list[Problem]) -> tuple[str | None, str | None]:
    """(ISO day, doubt) of one published date; a doubted one is recorded as a problem, once."""
    day, doubt = read_date(raw, term)
    if doubt:
        _doubt_problem(raw, where, doubt, problems)
    return day, doubt


def _doubt_problem(raw: Any, where: str, doubt: str, problems: list[Problem]) -> None:
    problems.append(
        Problem(
            DOUBT_KIND,
            f"{where}: {str(raw)!r} kept as published, not used as a date: {doubt}",
            {"field": where, "value": raw, "doubt": doubt},
        )
    )


def stage_rows(
    bill_no: str,
    record: dict[str, Any],
    prov: dict[str, str],
    problems: list[Problem],
    term: int | None = None,
) -> list[dict[str, Any]]:
    """One row per 議案流程 entry, in published order, plus a filing row from 提案日期.

    A doubted date (pipelines/normalise/date_doubts.py) stays in the row's `dates` as published; `on` is
    NULL and `date_doubt` says why: 2016-00-00, a day outside the bill's term, a 提案日期 after
    the first 議案流程 entry (1050226070202600 was filed, per its PDF, after its 三讀)."""
    rows: list[dict[str, Any]] = []
    raw_filed = record.get("提案日期")
    filed_on, filed_doubt = doubted(raw_filed, "提案日期", term, problems)
    entries = flow_entries(record, problems)
    for i, entry in enumerate(entries, start=1):
        raw = str(entry.get("狀態") or "")
        slug = classify(raw)
        if slug == "unknown":
            problems.append(Problem("unknown-stage", f"unmapped status {raw!r}", {"seq": i}))
        raw_dates = entry.get("日期") or []
        if not isinstance(raw_dates, list):
            raw_dates = [raw_dates]
        read = [doubted(d, f"議案流程[{i}].日期", term, problems) for d in raw_dates]
        known = [d for d, _ in read if d]
        doubts = [why for _, why in read if why]
        venue = text(entry.get("院會/委員會"))
        venue_kind = "plenary" if venue == "院會" else ("committee" if venue else "")
        committee = venue if venue_kind == "committee" else (committee_in_status(raw) or "")
        codes = entry.get("會議代碼") or []
        rows.append(
            stage_row(
                bill_no,
                i,
                slug,
                raw,
                "flow",
                "",
                prov,
                venue=venue,
                venue_kind=venue_kind,
                committee=committee,
                session_code=text(entry.get("會期")),
                meeting_codes=codes,
                dates=raw_dates,
                on=known[0] if known else None,
                second_on=known[1] if len(known) > 1 else None,
                date_doubt="; ".join(doubts) or None,
            )
        )
    first_reading_on = min((r["on"] for r in rows if r["on"]), default=None)
    after = filed_after_first_reading(filed_on, first_reading_on)
    if after:
        _doubt_problem(raw_filed, "提案日期", after, problems)
        filed_on, filed_doubt = None, after
    if filed_on or filed_doubt:
        filed = stage_row(
            bill_no,
            0,
            "filed",
            "",
            "field",
            "from 提案日期",
            prov,
            on=filed_on,
            dates=[str(raw_filed)],
            # undated, the filing still comes first: it orders as the first sitting does
            order_on=filed_on or first_reading_on,
            date_doubt=filed_doubt,
        )
        rows.insert(0, filed)
    _fill_order_dates(rows)
    _fill_referral_committees(rows)
    return rows


def _filing_doubted(rows: list[dict[str, Any]]) -> bool:
    return bool(rows and rows[0]["seq"] == 0 and rows[0]["date_doubt"])


def _fill_order_dates(rows: list[dict[str, Any]]) -> None:
    """An empty date inherits the one before it, so ordering keeps upstream's position."""
    last = ""
    for row in rows:
        row["order_on"] = row["on"] or row.get("order_on") or last or None
        last = row["order_on"] or last


def _fill_referral_committees(rows: list[dict[str, Any]]) -> None:
    """交付審查 at 院會 names no committee: take it from the same sitting's 排入院會(交…) text,
    else from the next committee entry."""
    for i, row in enumerate(rows):
        if row["stage"] not in {"referred", "re-referred"} or row["committee"]:
            continue
        same_sitting = [
            r["committee"]
            for r in rows
            if r["session_code"] == row["session_code"] and r["committee"] and r is not row
        ]
        later = [r["committee"] for r in rows[i + 1 :] if r["venue_kind"] == "committee"]
        row["committee"] = (same_sitting or later or [""])[0]


def apply_state_machine(
    bill_no: str,
    rows: list[dict[str, Any]],
    term: int | None,
    today: date,
    prov: dict[str, str],
    as_of: str | None = None,
) -> dict[str, Any]:
    """Re-class first readings, derive expiry (only from a record captured after the term
    ended), and return the bill's current-stage columns."""
    events = [Event(r["seq"], r["stage"], r["on"], r["session_code"], r["order_on"]) for r in rows]
    for seq, slug in upgrade_first_readings(events).items():
        for row in rows:
            if row["seq"] == seq:
                row["note"] = f"{row['stage']} re-classed: referred at the same sitting"
                row["stage"], row["stage_label"] = slug, LABELS[slug]
    events = [Event(r["seq"], r["stage"], r["on"], r["session_code"], r["order_on"]) for r in rows]
    state = current_stage(events, term, today, as_of)
    if state.slug == "expired":
        assert state.on is not None and as_of is not None
        rows.append(expiry_row(bill_no, term, state.on, as_of, prov))
    current = next((r for r in rows if r["seq"] == state.seq), None)
    return {
        "current_stage": state.slug,
        "current_stage_label": LABELS.get(state.slug or "", ""),
        "current_stage_on": state.on,
        "current_stage_derived": int(state.derived),
        "current_stage_evidence": "term-ended" if state.derived else (current or {}).get("evidence_kind"),
        "current_stage_caveat": "; ".join(
            ([stale_caveat(term, state)] if state.stale_since is not None else [])
            + (
                [unknown_caveat(current.get("status_raw"), state.on)]
                if state.slug == "unknown" and current
                else []
            )
        ),
    }


def expiry_row(bill_no: str, term: int | None, end: str, as_of: str, prov: dict[str, str]) -> dict[str, Any]:
    """The derived expiry stage: its evidence is the term's end and the capture after it."""
    evidence = expiry_evidence(term, end, as_of)
    note = f"derived: {evidence}"
    return stage_row(
        bill_no,
        DERIVED_SEQ,
        "expired",
        "",
        "derived",
        note,
        prov,
        on=end,
        order_on=end,
        evidence_kind="term-ended",
        evidence=evidence,
    )


def sponsor_rows(bill_no: str, record: dict[str, Any], source_url: str) -> list[dict[str, Any]]:
    rows = []
    for role, key in (("proposer", "提案人"), ("cosponsor", "連署人")):
        names = record.get(key) or []
        if isinstance(names, str):
            names = [names]
        for seq, raw in enumerate(n for n in names if clean_name(str(n))):
            rows.append(
                {
                    "bill_no": bill_no,
                    "role": role,
                    "seq": seq,
                    "name_raw": str(raw),
                    "name": person_key(str(raw)),
                    "kind": sponsor_kind(str(raw)),
                    "source": "lyapi",
                    "source_url": source_url,
                }
            )
    return rows


def normalise_bill(item: BillItem, today: date) -> NormalisedBill:
    record, bill_no = item.record, item.bill_no
    problems: list[Problem] = []
    prov = {
        "source": item.source,
        "source_url": item.provenance.source_url,
        "fetched_at": item.provenance.fetched_at,
        "content_sha256": item.provenance.content_sha256,
    }
    term = to_int(record.get("屆"))
    # The record's age: LYAPI's own 資料抓取時間, else when the source says it captured it.
    as_of = (
        capture_stamp(record.get("資料抓取時間"))
        or capture_stamp(item.provenance.captured_at)
        or capture_stamp(item.provenance.fetched_at)
    )
    stages = stage_rows(bill_no, record, prov, problems, term)
    current = apply_state_machine(bill_no, stages, term, today, prov, as_of)
    bill = {
        "bill_no": bill_no,
        "term": term,
        "session": to_int(record.get("會期")),
        "title": text(record.get("議案名稱")),
        "proposal_no": text(record.get("提案編號")),
        "doc_no": text(record.get("字號")),
        "category": text(record.get("議案類別")),
        "origin": text(record.get("提案來源")),
        "proposer_text": text(record.get("提案單位/提案委員")),
        "reason": text(record.get("案由")),
        "filed_on": stages[0]["on"] if stages and stages[0]["seq"] == 0 else None,
        # the 提案日期 as published when it is doubted (pipelines/normalise/date_doubts.py), else NULL
        "filed_on_raw": text(record.get("提案日期")) if _filing_doubted(stages) else None,
        "status_raw": clean_status(str(record.get("議案狀態") or "")),
        **current,
        "as_of": as_of,
        "last_progress_on": safe_date(record.get("最新進度日期"), "最新進度日期", problems),
        "meeting_code": text(record.get("會議代碼")),
        "law_codes": json.dumps([str(c) for c in record.get("法律編號") or []]),
        "url": text(record.get("url")),
        **prov,
        "record_sha256": content_hash(record),
    }
    codes = record.get("法律編號") or []
    names = record.get("法律編號:str") or []
    laws = [
        {"bill_no": bill_no, "law_code": str(code), "law_name": str(name), "source_url": prov["source_url"]}
        for code, name in zip(codes, list(names) + [""] * (len(codes) - len(names)), strict=False)
    ]
    related = [
        {
            "bill_no": bill_no,
            "related_bill_no": str(r.get("議案編號") or "").strip(),
            "related_title": text(r.get("議案名稱")),
            "source_url": prov["source_url"],
        }
        for r in record.get("關連議案") or []
        if isinstance(r, dict) and r.get("議案編號")
    ]
    documents = [
        {
            "bill_no": bill_no,
            "seq": i,
            "name": text(d.get("名稱")),
            "url": text(d.get("網址")),
            "html_url": text(d.get("HTML結果")),
        }
        for i, d in enumerate(record.get("相關附件") or [])
        if isinstance(d, dict)
    ]
    return NormalisedBill(
        bill,
        stages,
        sponsor_rows(bill_no, record, prov["source_url"]),
        laws,
        related,
        documents,
        problems,
    )
