"""A legislator's page: one identity across spellings and terms (`legislators`, linked to
`sponsors.legislator_id` by pipelines/reconcile/sponsors.py), every bill they proposed or
cosponsored, its current stage with its evidence and caveat, how far it got, days in stage.

A sponsor the rosters do not know keeps its person key (`sponsors.name`) and gets a page under
that key, so every sponsor name on a bill page has somewhere to go.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

from billtracker.serve.read.dbread import days_between, has_table, known_until, one, rows
from billtracker.serve.read.journey import ENDINGS, MILESTONES
from pipelines.normalise.evidence import LABELS as EVIDENCE_LABELS
from pipelines.normalise.stage_machine import SETTLED

ROLE_LABELS = {"proposer": "提案 proposed", "cosponsor": "連署 cosponsored"}


def furthest(stages: list[str]) -> dict[str, Any]:
    """The furthest milestone of the road a bill reached (journey.MILESTONES), and its ending."""
    reached = {key: label for key, label, slugs in MILESTONES if any(s in slugs for s in stages)}
    last = next((i for i in range(len(MILESTONES) - 1, -1, -1) if MILESTONES[i][0] in reached), None)
    return {
        "key": MILESTONES[last][0] if last is not None else "",
        "label": MILESTONES[last][1] if last is not None else "—",
        "step": (last + 1) if last is not None else 0,
        "of": len(MILESTONES),
        "ending": next((s for s in stages if s in ENDINGS), ""),
    }


def legislator(conn: sqlite3.Connection, key: str, today: date) -> dict[str, Any] | None:
    """The person (roster row, or a bare person key sponsors use) and their bills; None if no
    roster row and no sponsor row has this key."""
    person = (
        one(conn, "select * from legislators where id = ?", [key]) if has_table(conn, "legislators") else None
    )
    bills = rows(
        conn,
        """select b.bill_no, b.title, b.term, b.filed_on, b.proposer_text, b.current_stage,
                  b.current_stage_label, b.current_stage_on, b.current_stage_derived,
                  b.current_stage_evidence, b.current_stage_caveat, b.as_of, b.url,
                  min(case sp.role when 'proposer' then 0 else 1 end) as role_rank,
                  group_concat(distinct sp.name_raw) as spelled
           from sponsors sp join bills b on b.bill_no = sp.bill_no
           where sp.kind = 'legislator'
             and (sp.legislator_id = :key or (sp.legislator_id is null and sp.name = :key))
           group by b.bill_no
           order by b.filed_on desc, b.bill_no desc""",
        {"key": key},
    )
    if person is None and not bills:
        return None
    stages: dict[str, list[str]] = {}
    if bills:
        marks = ",".join("?" * len(bills))
        for r in conn.execute(
            f"select bill_no, stage from stages where gone_at is null and bill_no in ({marks})",
            [b["bill_no"] for b in bills],
        ):
            stages.setdefault(r[0], []).append(r[1])
    for b in bills:
        b["role"] = "proposer" if b["role_rank"] == 0 else "cosponsor"
        b["furthest"] = furthest(stages.get(b["bill_no"], []))
        b["known_until"] = known_until(today, b["as_of"])
        settled = b["current_stage"] in SETTLED | ENDINGS
        b["days_in_stage"] = None if settled else days_between(b["current_stage_on"], b["known_until"])
    spellings = sorted(
        {s for b in bills for s in (b["spelled"] or "").split(",") if s}
        | set(json.loads(person["aliases"] or "[]") if person else [])
    )
    return {
        "key": key,
        "person": person,
        "name": person["name"] if person else key,
        "terms": json.loads(person["terms"] or "[]") if person else [],
        "spellings": spellings,
        "proposed": [b for b in bills if b["role"] == "proposer"],
        "cosponsored": [b for b in bills if b["role"] == "cosponsor"],
        "today": today.isoformat(),
        "evidence_labels": EVIDENCE_LABELS,
        "role_labels": ROLE_LABELS,
    }
