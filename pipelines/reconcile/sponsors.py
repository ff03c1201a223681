"""Step 7: every proposer any source names is stored, and linked to `legislators` by every
known spelling of their name."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from pipelines.normalise.names import alias_key, identities, person_key, sponsor_kind
from pipelines.rawsql import select
from pipelines.reconcile.context import Context, has_table
from pipelines.reconcile.inputs import marks
from pipelines.reconcile.precedence import best


def alias_index(ctx: Context) -> dict[str, str]:
    """Every spelling of every legislator's name (alias key) -> their id; read once a run."""
    if ctx.aliases is None:
        index: dict[str, str] = {}
        rows = select(ctx.conn, "SELECT * FROM legislators") if has_table(ctx.conn, "legislators") else []
        for row in rows:
            for alias in json.loads(row["aliases"] or "[]"):
                index.setdefault(alias_key(alias), row["id"])
        ctx.aliases = index
    return ctx.aliases


def fill_sponsors(ctx: Context, bill_nos: list[str]) -> set[str]:
    """A proposer named by any source is stored: a role (proposer, cosponsor) LYAPI lists
    nobody for gets the people the best other source names (pipelines/reconcile/precedence.py), with
    that source and its URL. 1060519070202300: LYAPI's 提案人 is empty, dataset 20 names
    陳其邁; the bills only dataset 20 knows have no LYAPI record at all. Rows from another
    source are rebuilt from what it says now; returns the bills whose rows changed."""
    if not bill_nos:
        return set()
    conn = ctx.conn
    ins = marks(bill_nos)
    stored: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in conn.execute(
        f"SELECT bill_no, role, seq, name_raw, source, source_url FROM sponsors WHERE bill_no IN ({ins})"
        " ORDER BY bill_no, role, seq",
        bill_nos,
    ):
        stored[row[0]].append(tuple(row))
    readings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in select(
        conn,
        "SELECT bill_no, source, source_url, proposers, cosponsors FROM source_bills"
        f" WHERE bill_no IN ({ins}) ORDER BY bill_no, source, source_key",
        bill_nos,
    ):
        readings[row["bill_no"]].append(row)
    changed = set()
    for bill_no in bill_nos:
        rows = stored.get(bill_no, [])
        lyapi_roles = {r[1] for r in rows if r[4] == "lyapi"}
        want: list[tuple[Any, ...]] = []
        for role, column in (("proposer", "proposers"), ("cosponsor", "cosponsors")):
            if role in lyapi_roles:
                continue
            named = [(r["source"], r) for r in readings.get(bill_no, []) if json.loads(r[column] or "[]")]
            chosen = best("sponsors", named)
            if chosen:
                names = json.loads(chosen[1][column])
                url = chosen[1]["source_url"]
                want += [(bill_no, role, i, n, chosen[0], url) for i, n in enumerate(names)]
        want.sort(key=lambda r: (r[1], r[2]))
        have = [r for r in rows if r[4] != "lyapi"]
        if have == want:
            continue
        conn.execute("DELETE FROM sponsors WHERE bill_no = ? AND source != 'lyapi'", [bill_no])
        conn.executemany(
            "INSERT INTO sponsors (bill_no, role, seq, name_raw, name, kind, source, source_url)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(b, role, i, n, person_key(n), sponsor_kind(n), src, url) for b, role, i, n, src, url in want],
        )
        ctx.counts["sponsors_filled"] += len(want)
        changed.add(bill_no)
    return changed


def link_sponsors(ctx: Context, bill_nos: list[str]) -> set[str]:
    """Fill the roles LYAPI names nobody for (fill_sponsors), then link these bills' sponsors
    to `legislators`; returns the bills whose sponsors changed."""
    filled = fill_sponsors(ctx, bill_nos)
    return filled | _link(ctx, bill_nos)


def _link(ctx: Context, bill_nos: list[str]) -> set[str]:
    index = alias_index(ctx)
    if not index or not bill_nos:
        return set()
    ids = set(index.values())
    updates = []
    for row in select(
        ctx.conn,
        "SELECT bill_no, role, seq, name_raw, name, legislator_id FROM sponsors "
        f"WHERE kind = 'legislator' AND bill_no IN ({marks(bill_nos)})",
        bill_nos,
    ):
        found = identities(row["name_raw"], index)[0]
        if found in ids and (row["legislator_id"] != found or row["name"] != found):
            updates.append((found, found, row["bill_no"], row["role"], row["seq"]))
    if not updates:
        return set()
    ctx.conn.executemany(
        "UPDATE sponsors SET legislator_id = ?, name = ? WHERE bill_no = ? AND role = ? AND seq = ?", updates
    )
    ctx.counts["sponsors_linked"] += len(updates)
    return {u[2] for u in updates}
