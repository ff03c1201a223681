"""The staffers' home at `/`: what changed today and this week, committee agendas, stuck bills,
the watches and their latest changes, and the way into the raw tables.

"Today" is the project clock's (scrapers/clock.py: BILLTRACKER_TODAY, else Asia/Taipei's day),
never the visitor's; a change belongs to the Taipei day billtracker detected it on
(`changes.detected_at`), and the stage's own date is shown beside it, because a crawl can learn
on Friday of a 一讀 held on Tuesday.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from billtracker.serve.read import timing
from billtracker.serve.read.dbread import has_table, one, rows
from pipelines.normalise.evidence import LABELS as EVIDENCE_LABELS
from pipelines.normalise.stage_machine import taipei_day
from scrapers.clock import TAIPEI
from scrapers.stages import LABELS

# The change kinds that move a bill along: what "what changed" means on the home page.
STAGE_KINDS = ("stage-added", "current-stage-changed", "expired")
# Stages that put a bill on a committee's agenda (a dated 尚未審查 listing or a review sitting).
AGENDA_STAGES = ("committee-listed", "committee-review")
WEEK_DAYS = 7
CHANGES_SHOWN = 300  # stage changes of the week rendered; the caption gives the full count
STUCK_DAYS = 180
STUCK_SHOWN = 10
WATCH_CHANGES_SHOWN = 3
RAW_TABLES = (
    ("bills", "議案 bills"),
    ("stages", "議案流程 stages"),
    ("changes", "異動 changes"),
    ("sponsors", "提案及連署人 sponsors"),
    ("legislators", "立法委員 legislators"),
    ("laws", "法律 laws"),
    ("articles", "條文 articles"),
    ("watches", "關注清單 watches"),
    ("problems", "讀取問題 problems"),
    ("scrape_runs", "抓取紀錄 scrape_runs"),
)


def utc_bounds(first: date, last: date) -> tuple[str, str]:
    """The UTC instants [start, end) of the Taipei days first..last, as stored in *_at columns."""

    def utc(day: date) -> str:
        return datetime.combine(day, time(), TAIPEI).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return utc(first), utc(last + timedelta(days=1))


def stage_changes(conn: sqlite3.Connection, first: date, last: date) -> list[dict[str, Any]]:
    """Stage changes detected on the Taipei days first..last, newest first, each with its bill's
    current stage, evidence and caveat (shown wherever the stage is) and the laws it amends."""
    start, end = utc_bounds(first, last)
    marks = ",".join("?" * len(STAGE_KINDS))
    found = rows(
        conn,
        f"""select c.id, c.bill_no, c.kind, k.label as kind_label, c.old_value, c.new_value, c.stage,
                   c.committee, c.detail, c.detected_at, c.source_url,
                   b.title, b.current_stage, b.current_stage_label, b.current_stage_on,
                   b.current_stage_derived, b.current_stage_evidence, b.current_stage_caveat
            from changes c join bills b on b.bill_no = c.bill_no
            left join change_kinds k on k.kind = c.kind
            where c.detected_at >= ? and c.detected_at < ? and c.kind in ({marks})
            order by c.detected_at desc, c.id desc""",
        [start, end, *STAGE_KINDS],
    )
    laws = _laws_of(conn, sorted({c["bill_no"] for c in found}))
    for c in found:
        detail = json.loads(c["detail"] or "{}")
        c["stage_on"] = detail.get("on") or ""
        c["day"] = taipei_day(c["detected_at"])
        c["laws"] = laws.get(c["bill_no"], [])
        if c["kind"] == "current-stage-changed":  # the values are slugs: show them in 中文 too
            c["old_value"], c["new_value"] = (
                f"{LABELS.get(v, v)} {v}" if v else v for v in (c["old_value"], c["new_value"])
            )
    return found


def _laws_of(conn: sqlite3.Connection, bill_nos: list[str]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for chunk in (bill_nos[i : i + 500] for i in range(0, len(bill_nos), 500)):
        for r in rows(
            conn,
            f"""select bl.bill_no, bl.law_code, coalesce(l.name, bl.law_name) as name from bill_laws bl
                left join laws l on l.law_code = bl.law_code
                where bl.bill_no in ({",".join("?" * len(chunk))}) order by bl.law_code""",
            chunk,
        ):
            out.setdefault(r["bill_no"], []).append({"law_code": r["law_code"], "name": r["name"]})
    return out


def grouped(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes grouped by law and committee, the group with the newest change first; within a
    group newest first. A bill amending two laws is listed under their joint name, once."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for c in changes:
        law = "、".join(law["name"] for law in c["laws"] if law["name"]) or "（未關聯法律）"
        committee = c["committee"] or "（無委員會）"
        group = groups.setdefault(
            (law, committee),
            {"law": law, "laws": c["laws"], "committee": c["committee"], "label": committee, "changes": []},
        )
        group["changes"].append(c)
    return list(groups.values())  # insertion order = order of each group's newest change


def agenda(conn: sqlite3.Connection, first: date, last: date) -> list[dict[str, Any]]:
    """Bills with a committee listing or review sitting dated in first..last, by committee."""
    marks = ",".join("?" * len(AGENDA_STAGES))
    return rows(
        conn,
        f"""select s.bill_no, s.stage, s.stage_label, s."on", s.second_on, s.committee, s.status_raw,
                   s.evidence_kind, s.source_url, b.title, b.current_stage_label, b.current_stage_caveat
            from stages s join bills b on b.bill_no = s.bill_no
            where s.gone_at is null and s.stage in ({marks})
              and ((s."on" between ? and ?) or (s.second_on between ? and ?))
            order by s.committee, s."on", s.bill_no""",
        [*AGENDA_STAGES, first.isoformat(), last.isoformat(), first.isoformat(), last.isoformat()],
    )


def watches(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every watch with its number of matched changes and its latest few, newest first."""
    if not has_table(conn, "watches"):
        return []
    out = rows(conn, "select name, kind, value, title from watches order by name")
    for w in out:
        counted = conn.execute("select count(*) from change_watches where watch = ?", [w["name"]])
        w["count"] = counted.fetchone()[0]
        w["latest"] = rows(
            conn,
            """select c.id, c.bill_no, c.kind, k.label as kind_label, c.new_value, c.old_value,
                      c.detected_at, b.title
               from change_watches cw join changes c on c.id = cw.change_id
               join bills b on b.bill_no = c.bill_no left join change_kinds k on k.kind = c.kind
               where cw.watch = ? order by c.id desc limit ?""",
            [w["name"], WATCH_CHANGES_SHOWN],
        )
    return out


def home(conn: sqlite3.Connection, today: date, database: str) -> dict[str, Any]:
    """Everything the home page shows for the project's `today`."""
    week_start = today - timedelta(days=WEEK_DAYS - 1)
    week = stage_changes(conn, week_start, today) if has_table(conn, "changes") else []
    todays = [c for c in week if c["day"] == today.isoformat()]
    earlier = [c for c in week if c["day"] != today.isoformat()]  # today's are shown above
    newest = one(conn, "select max(detected_at) as at from changes") if has_table(conn, "changes") else None
    newest_at = (newest or {}).get("at") or ""
    # still in committee: the time-in-stage page also lists spells that ended long ago
    stuck = [s for s in timing.stuck(conn, today, STUCK_DAYS) if s["open"]]
    tables = [(t, label) for t, label in RAW_TABLES if has_table(conn, t)]
    return {
        "database": database,
        "today": today.isoformat(),
        "week_start": week_start.isoformat(),
        "today_groups": grouped(todays),
        "today_count": len(todays),
        "week_groups": grouped(earlier[:CHANGES_SHOWN]),
        "week_count": len(week),
        "earlier_count": len(earlier),
        "changes_shown": CHANGES_SHOWN,
        "newest_change_at": newest_at,
        "newest_change_day": taipei_day(newest_at) if newest_at else "",
        "agenda": agenda(conn, week_start, today),
        "stuck": stuck[:STUCK_SHOWN],
        "stuck_count": len(stuck),
        "stuck_days": STUCK_DAYS,
        "watches": watches(conn),
        "tables": tables,
        "evidence_labels": EVIDENCE_LABELS,
    }
