"""The one shape of a `stages` row, whoever writes it.

A stage comes from a bill's 議案流程 or 提案日期 (pipelines/normalise/bill_record.py), is derived by reconcile
(an expiry, a merged review's or a source status's 三讀, a promulgation, an event only a
secondary source reports) or added by a reviewed correction (pipelines/reconcile/corrections.py). All of
them are built here, so every writer gives every column, in one order, with one default each: a
column added to `stages` is added once, not in six dict literals that drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scrapers.stages import LABELS

# Evidence kinds a row has by its origin alone; a derived or corrected row names its own.
_ORIGIN_KINDS = ("flow", "field")
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def stage_row(
    bill_no: str,
    seq: int,
    stage: str,
    status_raw: str,
    origin: str,
    note: str,
    prov: Mapping[str, Any],
    *,
    source: str | None = None,
    venue: str = "",
    venue_kind: str = "",
    committee: str = "",
    session_code: str = "",
    meeting_codes: Any = (),
    dates: Any = (),
    on: str | None = None,
    second_on: str | None = None,
    order_on: str | None = None,
    gone_at: str | None = None,
    evidence_kind: str | None = None,
    evidence: str | None = None,
    date_doubt: str | None = None,
) -> dict[str, Any]:
    """A `stages` row, every column in the table's order.

    `prov` gives source_url, fetched_at and content_sha256, and the source unless `source` names
    another (a merged review's 三讀 is reconcile's, with its evidence's provenance).
    `meeting_codes` and `dates` are stored as JSON text (as published: a list, or whatever shape
    upstream sent). `evidence_kind` defaults to the origin for the sources' own rows (flow,
    field), None otherwise."""
    return {
        "bill_no": bill_no,
        "seq": seq,
        "stage": stage,
        "stage_label": LABELS.get(stage, ""),
        "status_raw": status_raw,
        "origin": origin,
        "note": note,
        "venue": venue,
        "venue_kind": venue_kind,
        "committee": committee,
        "session_code": session_code,
        "meeting_codes": _to_json(meeting_codes),
        "dates": _to_json(dates),
        "on": on,
        "second_on": second_on,
        "order_on": order_on,
        "source": prov["source"] if source is None else source,
        "source_url": prov["source_url"],
        "fetched_at": prov["fetched_at"],
        "content_sha256": prov["content_sha256"],
        "gone_at": gone_at,
        "evidence_kind": evidence_kind or (origin if origin in _ORIGIN_KINDS else None),
        "evidence": evidence,
        "date_doubt": date_doubt,
    }
