"""Earlier snapshots of the replay, for testing change detection and incremental refresh.

``rewind(data, bill_nos)`` is snapshot A: the same records with the last 議案流程 entry of each
named bill removed (its 最新進度日期 and 議案狀態 recomputed from what remains, as upstream's
would be). The samples as they
are form snapshot B, in which those bills gained exactly one stage each. Swap what a running
ReplayServer serves with ``server.data = ...`` between two crawls.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from .derive import ReplayData, capture_key, latest_date


class CannotRewind(ValueError):
    """A bill named for rewinding is not in the replay or has no 議案流程 entry to remove."""


def rewind_bill(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record without its last 議案流程 entry, the entry removed)."""
    flow = record.get("議案流程") or []
    if not flow:
        raise CannotRewind(f"{record.get('議案編號')}: no 議案流程 entry to remove")
    earlier = copy.deepcopy(record)
    removed = earlier["議案流程"].pop()
    earlier["最新進度日期"] = latest_date(earlier["議案流程"])
    if earlier["議案流程"]:
        # Upstream's list shows the latest status too: a stage added the same day as the one
        # before it (排入院會 then 交付審查 at one sitting) changes 議案狀態, not the date.
        earlier["議案狀態"] = earlier["議案流程"][-1].get("狀態", "")
    return earlier, removed


def rewindable(data: ReplayData) -> list[str]:
    """Bills rewind() can take back a stage: derived ones with a 議案流程, latest progress first."""
    bills = [
        b
        for no, b in data.bills.items()
        if b.get("議案流程") and capture_key(f"/v2/bills/{no}") not in data.captures
    ]
    bills.sort(key=lambda b: (b.get("最新進度日期") or "", b["議案編號"]), reverse=True)
    return [b["議案編號"] for b in bills]


def rewind(data: ReplayData, bill_nos: list[str]) -> tuple[ReplayData, dict[str, dict[str, Any]]]:
    """Snapshot A of ``data`` and, per bill, the 議案流程 entry B adds."""
    bills = dict(data.bills)
    removed: dict[str, dict[str, Any]] = {}
    for bill_no in bill_nos:
        if bill_no not in bills:
            raise CannotRewind(f"{bill_no}: not in the replay")
        if capture_key(f"/v2/bills/{bill_no}") in data.captures:
            raise CannotRewind(f"{bill_no}: its detail is a verbatim capture, served as recorded")
        bills[bill_no], removed[bill_no] = rewind_bill(bills[bill_no])
    return replace(data, bills=bills), removed
