"""Time in stage: how many days bills spend in each stage, by committee and by proposer type,
and which bills sat in a committee longer than N days.

A stage lasts from its day to the same bill's next stage; the stage before a
derived expiry lasts until the term's end. A stage still open today is not a finished duration:
it is left out of the medians (it would pull them down) but shown in the stuck list.
"""

from __future__ import annotations

import sqlite3
import statistics
from datetime import date
from typing import Any

from billtracker.serve.read.dbread import days_between, known_until, rows
from scrapers.stages import IN_COMMITTEE, LABELS


def _bills_with_stages(conn: sqlite3.Connection, where: str = "", params: Any = ()) -> list[dict[str, Any]]:
    bills = rows(
        conn,
        f"""select b.bill_no, b.title, b.origin, b.term, b.current_stage, b.current_stage_label, b.as_of
            from bills b {where}""",
        params,
    )
    stages = rows(
        conn,
        f"""select bill_no, seq, stage, committee, order_on, origin from stages
            where gone_at is null and order_on is not null
              and bill_no in (select b.bill_no from bills b {where})
            order by bill_no, order_on, seq""",
        params,
    )
    by_bill: dict[str, list[dict[str, Any]]] = {}
    for s in stages:
        by_bill.setdefault(s["bill_no"], []).append(s)
    for b in bills:
        b["stages"] = by_bill.get(b["bill_no"], [])
        b["committee"] = next((s["committee"] for s in b["stages"] if s["committee"]), "")
    return bills


def durations(bills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per finished stage: bill, stage, days until the bill's next stage (0 when it
    followed the same day: a first reading that referred the bill at once)."""
    out = []
    for b in bills:
        stages = b["stages"]
        for i, s in enumerate(stages):
            later = stages[i + 1] if i + 1 < len(stages) else None
            if later is None or s["stage"] == "filed":
                continue
            out.append(
                {
                    "bill_no": b["bill_no"],
                    "stage": s["stage"],
                    "committee": b["committee"] or "（未交委員會）",
                    "proposer_type": b["origin"] or "（不明）",
                    "days": days_between(s["order_on"], later["order_on"]),
                }
            )
    return out


def summary(values: list[int]) -> dict[str, Any]:
    """n, median and spread (quartiles, min, max) of a list of day counts."""
    values = sorted(values)
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return {
        "n": len(values),
        "median": statistics.median(values),
        "q1": q1,
        "q3": q3,
        "min": values[0],
        "max": values[-1],
    }


def stats_by(rows_: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    """Summaries per (group value, stage), ordered by group then stage vocabulary order."""
    order = {slug: i for i, slug in enumerate(LABELS)}
    buckets: dict[tuple[str, str], list[int]] = {}
    for r in rows_:
        buckets.setdefault((r[group], r["stage"]), []).append(r["days"])
    out = []
    for (value, stage), days in sorted(buckets.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))):
        out.append({"group": value, "stage": stage, "stage_label": LABELS.get(stage, stage), **summary(days)})
    return out


def stage_stats(rows_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summaries per stage over all given durations (what the charts draw)."""
    order = {slug: i for i, slug in enumerate(LABELS)}
    buckets: dict[str, list[int]] = {}
    for r in rows_:
        buckets.setdefault(r["stage"], []).append(r["days"])
    return [
        {"stage": stage, "stage_label": LABELS.get(stage, stage), **summary(days)}
        for stage, days in sorted(buckets.items(), key=lambda kv: order.get(kv[0], 99))
    ]


def committee_spells(bills: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Each bill's time in committee: from its first committee stage until a stage that takes it
    out (reported, second reading, withdrawn, expired, ...) or, if none, until today -- or until the
    bill's newest record, when that is older: nothing later is known (`as_of`)."""
    out = []
    for b in bills:
        stages = b["stages"]
        start = next((i for i, s in enumerate(stages) if s["stage"] in IN_COMMITTEE), None)
        if start is None:
            continue
        first = stages[start]
        leaving = next(
            (s for s in stages[start + 1 :] if s["stage"] not in IN_COMMITTEE and s["stage"] != "unknown"),
            None,
        )
        known = known_until(today, b.get("as_of"))
        until = leaving["order_on"] if leaving else known
        out.append(
            {
                "bill_no": b["bill_no"],
                "title": b["title"],
                "committee": next((s["committee"] for s in stages[start:] if s["committee"]), b["committee"]),
                "since": first["order_on"],
                "until": until,
                "days": days_between(first["order_on"], until),
                "ended_by": LABELS.get(leaving["stage"], leaving["stage"]) if leaving else "",
                "ended_derived": bool(leaving and leaving["origin"] == "derived"),
                "open": leaving is None,
                "as_of": known if leaving is None and known < today.isoformat() else "",
            }
        )
    return sorted(out, key=lambda r: (-(r["days"] or 0), r["bill_no"]))


def time_in_stage(
    conn: sqlite3.Connection, today: date, law_code: str = "", committee: str = ""
) -> dict[str, Any]:
    """Durations and their summaries for all bills, one law's, or one committee's."""
    where, params = "", []
    if law_code:
        where, params = "where b.bill_no in (select bill_no from bill_laws where law_code = ?)", [law_code]
    bills = _bills_with_stages(conn, where, params)
    if committee:
        bills = [b for b in bills if any(s["committee"] == committee for s in b["stages"])]
    found = durations(bills)
    return {
        "durations": found,
        "by_stage": stage_stats(found),
        "by_committee": stats_by(found, "committee"),
        "by_proposer_type": stats_by(found, "proposer_type"),
        "spells": committee_spells(bills, today),
        "bills": bills,
    }


def stuck(conn: sqlite3.Connection, today: date, days: int, committee: str = "") -> list[dict[str, Any]]:
    """Bills whose time in committee is longer than `days`."""
    spells = committee_spells(_bills_with_stages(conn), today)
    return [s for s in spells if (s["days"] or 0) > days and (not committee or s["committee"] == committee)]


def committees(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return rows(
        conn,
        """select committee, count(distinct bill_no) as bills from stages
           where committee != '' and gone_at is null group by committee order by bills desc, committee""",
    )
