"""Writing MOJ law text: versions and articles keyed by pcode, linked to the LY law code by name.

MOJ pcodes (A0010032) and LY law codes (01010) are different numbering systems for the same law;
the only shared key is the name (行政院組織法), so the link is by exact name.
"""

from __future__ import annotations

import sqlite_utils

from pipelines.moj import BadLawRecord, LawVersion, read_law
from scrapers.items import LawTextItem


def ly_law_code(db: sqlite_utils.Database, name: str) -> str | None:
    row = db.execute("select law_code from laws where name = ? order by law_code limit 1", [name]).fetchone()
    return row[0] if row else None


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
    # Two exports of one law (the split JSON and a dated tag) carry the same 沿革: the row names
    # the first URL, not the last to arrive, so the database does not depend on their order.
    stored = {
        r["seq"]: r
        for r in db.query(
            "select seq, source_url, promulgated_on, action, scope, text_raw from law_versions"
            " where pcode = ?",
            [law.pcode],
        )
    }

    def kept(v: LawVersion) -> bool:
        """True when the stored row says the same from a URL that sorts first."""
        row = stored.get(v.seq)
        said = (v.promulgated_on, v.action, v.scope, v.text_raw)
        same = (
            row is not None and (row["promulgated_on"], row["action"], row["scope"], row["text_raw"]) == said
        )
        return same and row["source_url"] < prov["source_url"]

    versions = [v for v in law.versions if not kept(v)]
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
