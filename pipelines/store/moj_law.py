"""Writing MOJ law text: versions and articles keyed by pcode, linked to the LY law code by name.

MOJ pcodes (A0010032) and LY law codes (01010) are different numbering systems for the same law;
the only shared key is the name (行政院組織法), so the link is by exact name.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.normalise.moj_law import BadLawRecord, read_law
from scrapers.items import LawTextItem


def ly_law_code(db: sqlite_utils.Database, name: str) -> str | None:
    row = db.execute("select law_code from laws where name = ? order by law_code limit 1", [name]).fetchone()
    return row[0] if row else None


def outranks(mine: tuple[str, str], theirs: tuple[str, str]) -> bool:
    """(export day, URL): the newer export wins; of two equally new ones, the first URL."""
    if mine[0] != theirs[0]:
        return mine[0] > theirs[0]
    return mine[1] <= theirs[1]


def store_law_text(db: sqlite_utils.Database, item: LawTextItem) -> list[tuple[str, str]]:
    """Upsert one law's versions and articles. Returns problems as (kind, message)."""
    try:
        law = read_law(item.record)
    except BadLawRecord as exc:
        return [("wrong-shape", str(exc))]
    prov = {
        "source": item.source,
        "source_url": item.provenance.source_url,
        "fetched_at": item.provenance.fetched_at,
        "content_sha256": item.provenance.content_sha256,
    }
    problems = []
    # Linked now when the LY law is stored; else reconcile links it once it is (or says it cannot).
    code = ly_law_code(db, law.name)
    if code is not None:
        db["laws"].update(code, {"moj_pcode": law.pcode})
    if not law.modified_on:
        problems.append(("bad-date", f"{law.pcode}: no modification date; articles not stored"))
    # Two exports of one law (the split JSON and a dated tag) carry the same 沿革, sometimes
    # worded differently (A0010032 #7: 修正公布 / 修正發布): the newer export's reading is kept,
    # and of two equally new ones the first URL's, whichever arrives last, so the database does
    # not depend on the order of the responses.
    stored = {
        r["seq"]: (r["export_on"] or "", r["source_url"] or "")
        for r in db.query("select seq, export_on, source_url from law_versions where pcode = ?", [law.pcode])
    }
    mine = (law.modified_on or "", prov["source_url"])
    versions = [v for v in law.versions if v.seq not in stored or outranks(mine, stored[v.seq])]
    with db.atomic():
        db["law_versions"].upsert_all(
            [
                {
                    "pcode": law.pcode,
                    "seq": v.seq,
                    "law_code": code,
                    "law_name": law.name,
                    "promulgated_on": v.promulgated_on,
                    "action": v.action,
                    "scope": v.scope,
                    "text_raw": v.text_raw,
                    "export_on": law.modified_on,
                    **prov,
                }
                for v in versions
            ],
            pk=("pcode", "seq"),
        )
        if law.modified_on:
            db["law_articles"].upsert_all(
                [
                    {
                        "pcode": law.pcode,
                        "snapshot_on": law.modified_on,
                        "seq": a.seq,
                        "law_code": code,
                        "law_name": law.name,
                        "article_no": a.article_no,
                        "article_key": a.article_key,
                        "article_type": a.article_type,
                        "text": a.text,
                        **prov,
                    }
                    for a in law.articles
                ],
                pk=("pcode", "snapshot_on", "seq"),
            )
    for v in law.versions:
        if v.promulgated_on is None:
            problems.append(("bad-date", f"{law.pcode} 沿革 {v.seq}: no date in {v.text_raw[:40]!r}"))
    return problems
