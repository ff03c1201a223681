"""MOJ versions and articles (keyed by pcode) linked to the LY law of the same name.

Here and not when they are stored: the MOJ crawl may run before the LY laws it names arrive.
"""

from __future__ import annotations

from pipelines.problems import record_problem, resolve_problem
from pipelines.rawsql import select, update
from pipelines.reconcile.context import Context, has_table
from pipelines.store.moj_law import ly_law_code


def link_moj_laws(ctx: Context) -> None:
    """Each MOJ law still unlinked gets its LY law code; a name no LY law has is one
    `unmatched-law` problem, resolved once the law arrives."""
    if not has_table(ctx.conn, "law_versions"):
        return
    pending = select(
        ctx.conn,
        "SELECT pcode, law_name, min(source_url) AS source_url FROM law_versions "
        "WHERE law_code IS NULL GROUP BY pcode, law_name ORDER BY pcode",
    )
    for row in pending:
        code = ly_law_code(ctx.db, row["law_name"])
        problem = (
            "reconcile",
            "unmatched-law",
            f"no LY law named {row['law_name']!r} for MOJ {row['pcode']}",
            row["source_url"],
            None,
        )
        if code is None:
            record_problem(ctx.db, *problem)
            continue
        resolve_problem(ctx.db, *problem)
        update(ctx.conn, "laws", {"law_code": code}, {"moj_pcode": row["pcode"]})
        for table in ("law_versions", "law_articles"):
            ctx.conn.execute(
                f"UPDATE {table} SET law_code = ? WHERE pcode = ? AND law_code IS NULL", [code, row["pcode"]]
            )
        ctx.counts["moj_laws_linked"] += 1
