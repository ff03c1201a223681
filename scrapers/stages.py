"""The canonical stage vocabulary: one closed list of (slug, label) and the rules that map raw text.

Amendment policy (openstates-style): a slug is added only when a raw status cannot honestly be
described by an existing one; the raw text is always stored beside the slug, so re-mapping later
loses nothing. Raw text no rule matches maps to ``unknown`` — stored, counted, reported, never
dropped. ``tests/test_stages.py`` collects every distinct status string in ../shared/samples and
fails when one maps to ``unknown``: a new upstream string fails CI, not silently the data.

Rules are ordered most specific first (openstates-scrapers' ``Rule(pattern, slugs)`` tables).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    slug: str
    label: str
    description: str


STAGES: tuple[Stage, ...] = (
    Stage("filed", "提案", "The bill was filed (its 提案日期)."),
    Stage("scheduled", "排入院會", "Put on a plenary agenda (or the procedure committee's)."),
    Stage("deferred", "程序緩列", "The procedure committee deferred listing it."),
    Stage("returned", "退回程序", "Sent back to the procedure committee."),
    Stage("first-reading", "一讀", "Read at a plenary as a report item (報告事項)."),
    Stage("referred", "交付審查", "Referred to a committee for review."),
    Stage("re-referred", "改交", "Moved to another committee."),
    Stage("committee-listed", "尚未審查", "On a committee's list, not yet reviewed."),
    Stage("committee-review", "委員會審查", "Under review in committee."),
    Stage("committee-reported", "審查完畢", "The committee finished its review and reported."),
    Stage("direct-second-reading", "逕付二讀", "Sent straight to second reading, skipping committee."),
    Stage("negotiation", "黨團協商", "Sent to caucus negotiation."),
    Stage("second-reading", "二讀", "Discussed or passed at second reading."),
    Stage("third-reading", "三讀", "Passed third reading."),
    Stage("reconsideration", "復議", "A motion to reconsider."),
    Stage("promulgated", "公布", "Promulgated by the President (from law versions, never 議案流程)."),
    Stage("withdrawn", "撤案", "Withdrawn by its sponsors."),
    Stage("rejected", "不予審議", "The plenary decided not to consider it."),
    Stage("noted", "查照", "Sent for information only."),
    Stage("expired", "屆期不續審", "Derived: the term ended before third reading (職權行使法 §13)."),
    Stage("unknown", "未知", "Raw text no rule recognises: stored and counted, never dropped."),
)

SLUGS: frozenset[str] = frozenset(s.slug for s in STAGES)
LABELS: dict[str, str] = {s.slug: s.label for s in STAGES}

# Stages that end a bill's journey: no expiry after them. Which later entries still move one
# (復議 after 三讀, 撤案 after 不予審議) is pipelines/stage_machine.moves.
TERMINAL: frozenset[str] = frozenset({"third-reading", "promulgated", "withdrawn", "rejected"})

# Stages that leave a bill waiting with a committee: referred there and not yet reported. The
# time-in-stage pages (billtracker/serve/read/timing.py) and the `committee_queue` canned query use this set
# (tests/test_one_home.py checks the query's SQL names exactly these).
IN_COMMITTEE: frozenset[str] = frozenset({"referred", "re-referred", "committee-listed", "committee-review"})


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    slug: str


def _rule(regex: str, slug: str) -> Rule:
    assert slug in SLUGS, slug
    return Rule(re.compile(regex), slug)


# Order matters: the first matching rule wins.
RULES: tuple[Rule, ...] = (
    # 排入院會(交司法及法制委員會): a plenary report item that names its committee is a first
    # reading with referral (1051006070201100, 09-02-06).
    _rule(r"^排入院會\(交.+\)$", "first-reading"),
    _rule(r"^排入院會\(討論事項\)$", "second-reading"),
    _rule(r"^(排入院會|排入程序)$", "scheduled"),
    _rule(r"^程序緩列$", "deferred"),
    _rule(r"^退回程序", "returned"),
    _rule(r"^一讀", "first-reading"),
    _rule(r"^改交", "re-referred"),
    _rule(r"^交付審查$", "referred"),
    _rule(r"^尚未審查$", "committee-listed"),
    _rule(r"^(逕付二讀|委員會抽出逕付二讀)", "direct-second-reading"),
    _rule(r"^(審查完畢|委員會審竣|委員會發文)", "committee-reported"),
    _rule(r"^(委員會審查|繼續審查|委員會審議中|委員會)$", "committee-review"),
    _rule(r"^(交付協商|黨團協商)", "negotiation"),
    _rule(r"^二讀", "second-reading"),
    _rule(r"^三讀", "third-reading"),
    _rule(r"^復議", "reconsideration"),
    _rule(r"^(公布|總統公布)", "promulgated"),
    _rule(r"^(撤案|撤回|同意撤回)", "withdrawn"),
    _rule(r"^不予審議", "rejected"),
    _rule(r"^(交付查照|函復機關|查照)", "noted"),
)

_COMMITTEE_IN_TEXT = re.compile(r"\(交(?P<committee>[^()]+?委員會)")


def clean_status(raw: str) -> str:
    """NFKC plus whitespace removal: 1050307070200500-style trailing blanks and full-width brackets
    must not create new vocabulary."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"\s+", "", text)


def classify(raw: str) -> str:
    """Map one raw status string to a slug; ``unknown`` when no rule matches."""
    text = clean_status(raw)
    for rule in RULES:
        if rule.pattern.search(text):
            return rule.slug
    return "unknown"


def committee_in_status(raw: str) -> str | None:
    """The committee named by 排入院會(交X委員會), or None.

    The text names only one committee even when a bill went to two (DESIGN.md traps), so this is
    a hint, never the authority over a committee venue in the flow itself.
    """
    match = _COMMITTEE_IN_TEXT.search(clean_status(raw))
    return match.group("committee") if match else None
