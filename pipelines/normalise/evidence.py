"""The closed vocabulary of evidence: what a stage, a pass or an expiry may rest on.

The first duty is the truth: a stage billtracker derives rather than reads names one of these
kinds (stages.evidence_kind) and the text it rests on (stages.evidence). `billtracker audit`
fails on any other kind, and on a pass or an expiry whose kind is not allowed for it.
Amendment policy: a kind is added only for a new sort of record, never to let a stage through.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    slug: str
    label: str
    description: str


KINDS: tuple[Kind, ...] = (
    Kind("flow", "議案流程", "The bill's own 議案流程 entry (LYAPI / misq)."),
    Kind("field", "欄位", "A field of the bill's own record (提案日期 -> filed)."),
    Kind("source-event", "其他來源進度", "A dated event only a secondary source reports for this bill."),
    Kind(
        "source-status",
        "議案狀態",
        "A source's status for this bill (議案狀態, dataset 20 billStatus, lis 進度).",
    ),
    Kind("report", "審查報告", "The linked merged-review report's own dated 三讀 (併案)."),
    Kind("law-version", "法律沿革", "The law's versions (MOJ 沿革, lis) after the bill's 三讀."),
    Kind("term-ended", "屆期", "The term ended, after the bill's newest record, without a third reading."),
    Kind("correction", "更正", "A reviewed row of corrections.toml (bill, value, why, source, who, when)."),
)

SLUGS: frozenset[str] = frozenset(k.slug for k in KINDS)
LABELS: dict[str, str] = {k.slug: k.label for k in KINDS}

# What may make a bill passed (third-reading) or promulgated; anything else is a violation.
PASS_KINDS: frozenset[str] = frozenset({"flow", "source-event", "source-status", "report", "correction"})
PROMULGATION_KINDS: frozenset[str] = frozenset({"law-version", "source-event", "correction"})
EXPIRY_KINDS: frozenset[str] = frozenset({"term-ended"})

# merged_reviews.kind: only these move a stage; a candidate is shown, never used.
LINK_KINDS: frozenset[str] = frozenset({"related", "title", "candidate"})
EVIDENCE_LINKS: frozenset[str] = frozenset({"related", "title"})
