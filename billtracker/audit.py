"""The audit: every invariant the data promises, checked on a whole database (`billtracker audit`).

Why: a crawl can run cleanly and still store a wrong "passed" or "expired". Each check below is
one promise of the data contract (pipelines/normalise/evidence.py, pipelines/schema/evidence.py) read back
from the stored rows, so a regression anywhere (spider, store, reconcile, corrections) shows up
as a count with examples instead of a wrong fact on a staffer's screen. A check never repairs;
it only reads. Informational tables (bills by stage, passes by evidence kind, ...) are counts,
not verdicts; docs/fidelity.md shows them (`billtracker audit --markdown`).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from pipelines.normalise.evidence import (
    EVIDENCE_LINKS,
    EXPIRY_KINDS,
    LINK_KINDS,
    PASS_KINDS,
    PROMULGATION_KINDS,
    SLUGS,
)
from pipelines.normalise.names import alias_key
from pipelines.normalise.stage_machine import TERM_ENDS, taipei_day
from pipelines.reconcile.merged_reviews import report_filed_on

EXAMPLES = 5
PASSED = ("third-reading", "promulgated")
# A bill in one of these stages is done: staleness of the data cannot change what it says.
SETTLED_STAGES = frozenset({"third-reading", "promulgated", "withdrawn", "rejected", "noted"})
# Origins whose own record is the evidence: an empty evidence_kind means "the kind of the origin".
SELF_EVIDENT = frozenset({"flow", "field"})
EVIDENCED_ORIGINS = frozenset({"derived", "source", "correction"})
ORIGINS = SELF_EVIDENT | EVIDENCED_ORIGINS
# 審查報告: a 16-digit billNo with 0703 in digits 8-11 (1051122070300200).
REPORT_NO = re.compile(r"(?<!\d)(\d{7}0703\d{5})(?!\d)")
TAIPEI = ZoneInfo("Asia/Taipei")


@dataclass(frozen=True)
class Violation:
    """One broken promise: the bill, what is wrong, and the row's evidence as stored."""

    bill_no: str
    what: str
    evidence: str = ""


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    run: Callable[[sqlite_utils.Database, date], list[Violation]]


@dataclass
class CheckResult:
    name: str
    description: str
    count: int
    examples: list[Violation] = field(default_factory=list)


@dataclass
class Report:
    results: list[CheckResult]
    info: dict[str, list[tuple[str, int]]]

    @property
    def violations(self) -> int:
        return sum(r.count for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.count]


# --- helpers ----------------------------------------------------------------------------------


def today_in_taipei() -> date:
    """Dates are Asia/Taipei calendar days (DESIGN.md); "has the term ended" is asked in Taipei."""
    return datetime.now(TAIPEI).date()


def term_end(term: Any) -> str | None:
    return TERM_ENDS.get(term) if isinstance(term, int) else None


def term_start(term: Any) -> str | None:
    """The day after the previous term's end; None for term 1 (no earlier end is known)."""
    previous = TERM_ENDS.get(term - 1) if isinstance(term, int) else None
    if previous is None:
        return None
    return (date.fromisoformat(previous) + timedelta(days=1)).isoformat()


def iso_day(text: Any) -> date | None:
    """A stored date (or the date part of a timestamp) as a date; None when not ISO parseable."""
    if not isinstance(text, str) or len(text) < 10:
        return None
    try:
        # a timestamp's day is its Asia/Taipei day, as the term's end is a Taipei day
        return date.fromisoformat(taipei_day(text) if len(text) > 10 else text)
    except ValueError:
        return None


def effective_kind(stage: dict[str, Any]) -> str | None:
    """evidence_kind, or for a flow/field row with none the kind of its origin."""
    kind = stage.get("evidence_kind")
    if kind:
        return kind
    return stage.get("origin") if stage.get("origin") in SELF_EVIDENT else None


def has_evidence_text(stage: dict[str, Any]) -> bool:
    return bool((stage.get("evidence") or "").strip())


def describe(stage: dict[str, Any]) -> str:
    """A stage row's evidence, short enough for a table cell."""
    text = (stage.get("evidence") or "").strip().replace("\n", " ")
    if len(text) > 90:
        text = text[:87] + "..."
    return (
        f"seq {stage.get('seq')} {stage.get('origin')} {stage.get('stage')} on={stage.get('on')}"
        f" kind={stage.get('evidence_kind')} evidence={text!r}"
    )


def bills(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM bills ORDER BY bill_no"))


def live_stages(db: sqlite_utils.Database) -> dict[str, list[dict[str, Any]]]:
    """Live stage rows (gone_at IS NULL; the others are history) by bill, in seq order."""
    by_bill: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in db.query("SELECT * FROM stages WHERE gone_at IS NULL ORDER BY bill_no, seq"):
        by_bill[row["bill_no"]].append(row)
    return by_bill


def passes(stage: dict[str, Any], allowed: frozenset[str]) -> bool:
    """A stage row that may make a bill passed: an allowed kind, and text unless flow/field."""
    kind = effective_kind(stage)
    return kind in allowed and (kind in SELF_EVIDENT or has_evidence_text(stage))


# --- the checks -------------------------------------------------------------------------------


def check_pass_evidence(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """Passed only on evidence: a live third-reading (or promulgated) row of an allowed kind."""
    out: list[Violation] = []
    stages = live_stages(db)
    for bill in bills(db):
        stage = bill["current_stage"]
        if stage not in PASSED:
            continue
        rows = stages.get(bill["bill_no"], [])
        own = [s for s in rows if s["stage"] == stage]
        allowed = PASS_KINDS if stage == "third-reading" else PROMULGATION_KINDS
        example = describe(own[-1]) if own else f"no live {stage} stage row"
        if not any(passes(s, allowed) for s in own):
            out.append(Violation(bill["bill_no"], f"{stage} without evidence of an allowed kind", example))
            continue
        if stage == "promulgated":
            third = [s for s in rows if s["stage"] == "third-reading" and passes(s, PASS_KINDS)]
            corrected = any(effective_kind(s) == "correction" and passes(s, PROMULGATION_KINDS) for s in own)
            if not third and not corrected:
                out.append(
                    Violation(bill["bill_no"], "promulgated without an evidenced third reading", example)
                )
    return out


def check_evidence_kinds(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """Every derived, source or corrected stage names a kind of the vocabulary and its text."""
    out: list[Violation] = []
    for bill_no, rows in live_stages(db).items():
        for s in rows:
            origin, kind = s["origin"], s.get("evidence_kind")
            if origin not in ORIGINS:
                out.append(
                    Violation(
                        bill_no, f"origin {origin!r} is not flow/field/derived/source/correction", describe(s)
                    )
                )
            elif origin in EVIDENCED_ORIGINS and (kind not in SLUGS or not has_evidence_text(s)):
                what = (
                    f"{origin} stage with kind {kind!r}"
                    if kind not in SLUGS
                    else f"{origin} stage without evidence text"
                )
                out.append(Violation(bill_no, what, describe(s)))
            elif origin in SELF_EVIDENT and kind not in (None, "", origin):
                out.append(Violation(bill_no, f"{origin} stage claims kind {kind!r}", describe(s)))
    return out


def check_expiry_by_data_age(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """Expired only when the bill's newest record is newer than its term's end (one violation a
    bill, every reason named)."""
    out: list[Violation] = []
    stages = live_stages(db)
    for bill in bills(db):
        rows = [s for s in stages.get(bill["bill_no"], []) if s["stage"] == "expired"]
        if bill["current_stage"] != "expired" and not rows:
            continue
        end, as_of = term_end(bill["term"]), iso_day(bill.get("as_of"))
        reasons = []
        if end is None:
            reasons.append(f"term {bill['term']!r} has no known end")
        elif as_of is None:
            reasons.append("no data age (bills.as_of empty)")
        elif as_of.isoformat() <= end:
            reasons.append(f"data of {as_of}, on or before the term's end {end}")
        if bill["current_stage"] == "expired" and not rows:
            reasons.append("no live expired stage row")
        reasons += [
            f"stage of kind {s.get('evidence_kind')!r}"
            for s in rows
            if s.get("evidence_kind") not in EXPIRY_KINDS
        ]
        cse = bill.get("current_stage_evidence")
        if bill["current_stage"] == "expired" and cse not in EXPIRY_KINDS:
            reasons.append(f"current_stage_evidence {cse!r}")
        if reasons:
            example = describe(rows[-1]) if rows else f"as_of={bill.get('as_of')!r}"
            out.append(Violation(bill["bill_no"], "expired: " + "; ".join(reasons), example))
    return out


def check_stale_stage_said(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """A bill of an ended term known only from older data says "as of": it may have moved since."""
    out: list[Violation] = []
    for bill in bills(db):
        end = term_end(bill["term"])
        if end is None or today.isoformat() <= end or bill["current_stage"] in SETTLED_STAGES:
            continue
        as_of = iso_day(bill.get("as_of"))
        if as_of is not None and as_of.isoformat() > end:
            continue
        if not (bill.get("current_stage_caveat") or "").strip():
            age = as_of.isoformat() if as_of else "unknown"
            out.append(
                Violation(
                    bill["bill_no"],
                    f"{bill['current_stage']} from data of {age} (term ended {end}) without a caveat",
                    f"as_of={bill.get('as_of')!r} current_stage_caveat={bill.get('current_stage_caveat')!r}",
                )
            )
    return out


def check_date_sanity(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """Dates used as fact are possible, inside the bill's term and in a possible order."""
    out: list[Violation] = []
    stages = live_stages(db)
    for bill in bills(db):
        bill_no, term = bill["bill_no"], bill["term"]
        start, end = term_start(term), term_end(term)
        rows = stages.get(bill_no, [])
        for column in ("filed_on", "current_stage_on"):
            if bill.get(column) and iso_day(bill[column]) is None:
                out.append(Violation(bill_no, f"bills.{column} {bill[column]!r} is not a date", ""))
        for s in rows:
            for column in ("on", "second_on", "order_on"):
                if s.get(column) and iso_day(s[column]) is None:
                    out.append(Violation(bill_no, f"stage {column} {s[column]!r} is not a date", describe(s)))
            on = s["on"] if iso_day(s.get("on")) else None
            if on and start and on < start:
                out.append(
                    Violation(bill_no, f"{s['stage']} on {on}, before term {term} began {start}", describe(s))
                )
            # 公布 is the President's act within 10 days of receipt: it may follow the term's end.
            if on and end and on > end and s["stage"] != "promulgated":
                out.append(
                    Violation(bill_no, f"{s['stage']} on {on}, after term {term} ended {end}", describe(s))
                )
            if s["stage"] == "expired" and end and s.get("on") != end:
                out.append(
                    Violation(bill_no, f"expired on {s.get('on')}, not the term's end {end}", describe(s))
                )
        starts = [
            s["on"] for s in rows if s["stage"] in ("first-reading", "referred") and iso_day(s.get("on"))
        ]
        filed = bill.get("filed_on") if iso_day(bill.get("filed_on")) else None
        if filed and starts and filed > min(starts):
            out.append(
                Violation(bill_no, f"filed_on {filed} after its first reading/referral {min(starts)}", "")
            )
        flow_days = [s["on"] for s in rows if s["origin"] == "flow" and iso_day(s.get("on"))]
        for s in rows:
            if s["origin"] != "derived" or s["stage"] != "third-reading" or not iso_day(s.get("on")):
                continue
            if flow_days and s["on"] < max(flow_days):
                out.append(
                    Violation(
                        bill_no,
                        f"derived 三讀 {s['on']} before its own flow stage of {max(flow_days)}",
                        describe(s),
                    )
                )
            for report in sorted(set(REPORT_NO.findall(s.get("evidence") or s.get("note") or ""))):
                filed_on = report_filed_on(report)
                if filed_on and s["on"] < filed_on:
                    out.append(
                        Violation(
                            bill_no,
                            f"derived 三讀 {s['on']} before report {report} was filed {filed_on}",
                            describe(s),
                        )
                    )
        out += _current_stage_date(bill, rows)
    return out


def _current_stage_date(bill: dict[str, Any], rows: list[dict[str, Any]]) -> list[Violation]:
    """current_stage_on is the date of a live row of the current stage, never another stage's."""
    stage, on = bill["current_stage"], bill.get("current_stage_on")
    own = [s for s in rows if s["stage"] == stage]
    if not stage or not own:
        return []  # no row of the stage at all: pass-evidence / expiry-by-data-age say so
    if bill["current_stage"] == "expired" and on != term_end(bill["term"]):
        return [Violation(bill["bill_no"], f"expired bill dated {on}, not the term's end", describe(own[-1]))]
    if on:
        if any(s.get("on") == on for s in own):
            return []
        return [
            Violation(
                bill["bill_no"], f"current_stage_on {on} is no live {stage} row's date", describe(own[-1])
            )
        ]
    if all(s.get("on") for s in own):
        return [
            Violation(
                bill["bill_no"],
                f"current_stage_on empty though every live {stage} row is dated",
                describe(own[-1]),
            )
        ]
    return []


def check_links_by_kind(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """A merged review moves a stage only through a link of evidence (related, title)."""
    out: list[Violation] = []
    links: dict[tuple[str, str], str | None] = {}
    for link in db.query("SELECT * FROM merged_reviews ORDER BY bill_no, report_bill_no"):
        links[(link["report_bill_no"], link["bill_no"])] = link.get("kind")
        if link.get("kind") not in LINK_KINDS:
            out.append(
                Violation(
                    link["bill_no"],
                    f"link to report {link['report_bill_no']} of kind {link.get('kind')!r}",
                    f"evidence={link.get('evidence')!r}",
                )
            )
    for bill_no, rows in live_stages(db).items():
        for s in rows:
            if (
                s["stage"] != "third-reading"
                or s["origin"] != "derived"
                or s.get("evidence_kind") != "report"
            ):
                continue
            reports = REPORT_NO.findall(s.get("evidence") or "")
            if not reports:
                out.append(
                    Violation(
                        bill_no, "report evidence names no report billNo (digits 8-11 0703)", describe(s)
                    )
                )
                continue
            kinds = {r: links.get((r, bill_no)) for r in reports}
            if not any(k in EVIDENCE_LINKS for k in kinds.values()):
                shown = ", ".join(f"{r}: {k or 'no link'}" for r, k in kinds.items())
                out.append(
                    Violation(bill_no, f"derived 三讀 rests on no evidence link ({shown})", describe(s))
                )
    return out


# Separators of indigenous names as the sources type them (高潞‧以用‧巴魕剌, 鄭天財Sra．Kacaw,
# Kolas‧Yotaka): NFKC folds only some of them, so the audit folds them all before comparing.
_NAME_SEPARATORS = re.compile(r"[\s·‧．.•・‧\-]+")


def name_fold(text: str) -> str:
    """alias_key, then separators and case dropped: what "the same name" means to the audit."""
    return _NAME_SEPARATORS.sub("", alias_key(text)).casefold()


def legislator_alias_keys(db: sqlite_utils.Database) -> set[str]:
    """Every roster spelling (id, name, aliases) of every legislator, folded by name_fold."""
    keys: set[str] = set()
    for row in db.query("SELECT id, name, ename, aliases FROM legislators"):
        names = [row["id"], row["name"], *json.loads(row["aliases"] or "[]")]
        keys |= {name_fold(n) for n in names if n and len(name_fold(n)) >= 2}
    return keys


def not_names_text(message: str) -> str:
    """The text a `not-names` problem quotes: "...runs on into other text: '<text>'"."""
    _, sep, quoted = (message or "").partition("other text: ")
    if sep:
        try:
            value = ast.literal_eval(quoted.strip())
            if isinstance(value, str):
                return value
        except (ValueError, SyntaxError):
            return quoted
    return message or ""


def leading_legislator(text: str, keys: set[str]) -> str | None:
    """The roster spelling a rejected name column starts with (Kolas Yotaka, 高潞‧以用‧巴魕剌
    Kawlo．Iyun．Pacidal, even cut at 40 characters), if any: the longest that matches."""
    folded = name_fold(text)
    found = [k for k in keys if folded.startswith(k)]
    return max(found, key=len) if found else None


def check_sponsors(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """A legislator's bill has its proposer when a source names one; legislators are names."""
    out: list[Violation] = []
    proposers = {
        r["bill_no"] for r in db.query("SELECT DISTINCT bill_no FROM sponsors WHERE role = 'proposer'")
    }
    named: dict[str, str] = {}
    for row in db.query("SELECT bill_no, source, proposers FROM source_bills WHERE bill_no IS NOT NULL"):
        try:
            names = json.loads(row["proposers"] or "[]")
        except json.JSONDecodeError:
            names = [row["proposers"]]
        if names:
            named.setdefault(row["bill_no"], f"{row['source']}: {', '.join(map(str, names))[:60]}")
    for bill in bills(db):
        legislator = bill.get("origin") == "委員提案" or (bill.get("proposer_text") or "").startswith(
            "本院委員"
        )
        if legislator and bill["bill_no"] in named and bill["bill_no"] not in proposers:
            out.append(
                Violation(bill["bill_no"], "legislator bill without a proposer", named[bill["bill_no"]])
            )
    keys = legislator_alias_keys(db)
    for row in db.query("SELECT bill_no, message FROM problems WHERE kind = 'not-names' ORDER BY id"):
        who = leading_legislator(not_names_text(row["message"]), keys)
        if who:
            out.append(
                Violation(
                    row["bill_no"] or "", f"not-names problem about legislator {who}", row["message"][:120]
                )
            )
    return out


def check_provenance(db: sqlite_utils.Database, today: date) -> list[Violation]:
    """Every fact carries where it came from and when (derived rows cite their evidence's)."""
    out: list[Violation] = []
    for bill in bills(db):
        missing = [c for c in ("source_url", "fetched_at") if not (bill.get(c) or "").strip()]
        if missing:
            out.append(Violation(bill["bill_no"], f"bill without {' and '.join(missing)}", ""))
    for bill_no, rows in live_stages(db).items():
        for s in rows:
            missing = [c for c in ("source_url", "fetched_at") if not (s.get(c) or "").strip()]
            if missing:
                out.append(
                    Violation(bill_no, f"{s['stage']} stage without {' and '.join(missing)}", describe(s))
                )
    return out


CHECKS: tuple[Check, ...] = (
    Check(
        "pass-evidence",
        "third-reading/promulgated only on a live stage of an allowed evidence kind (PASS_KINDS, "
        "PROMULGATION_KINDS) with its text; promulgated also needs an evidenced third reading",
        check_pass_evidence,
    ),
    Check(
        "evidence-kinds",
        "every live derived/source/correction stage names a kind of the vocabulary and its text; "
        "flow/field rows claim no other kind",
        check_evidence_kinds,
    ),
    Check(
        "expiry-by-data-age",
        "expired only in a term with a known end, from data (bills.as_of) newer than that end, "
        "as a live term-ended stage",
        check_expiry_by_data_age,
    ),
    Check(
        "stale-stage-said",
        "an unsettled bill of an ended term known only from data of before its end carries a "
        "current_stage_caveat",
        check_stale_stage_said,
    ),
    Check(
        "date-sanity",
        "dates parse and lie inside the bill's term (公布 may follow its end), filing precedes first "
        "reading, a derived 三讀 follows the bill's own flow and its report's filing, "
        "current_stage_on is the current stage's own date, expiry is dated the term's end",
        check_date_sanity,
    ),
    Check(
        "links-by-kind",
        "every merged_reviews.kind is related/title/candidate; a report-evidenced 三讀 names a "
        "report linked to the bill by related or title, never candidate",
        check_links_by_kind,
    ),
    Check(
        "sponsors",
        "a legislator's bill has a proposer when a source names one; no not-names problem is "
        "about a legislator on the roster",
        check_sponsors,
    ),
    Check(
        "provenance",
        "every bill and live stage has source_url and fetched_at",
        check_provenance,
    ),
)


# --- informational counts ---------------------------------------------------------------------


def _counts(pairs: Iterable[tuple[Any, int]]) -> list[tuple[str, int]]:
    return sorted(
        ((str(k) if k not in (None, "") else "(none)", n) for k, n in pairs), key=lambda kv: (-kv[1], kv[0])
    )


def info_tables(db: sqlite_utils.Database, today: date) -> dict[str, list[tuple[str, int]]]:
    """Counts that describe the database (not verdicts): docs/fidelity.md shows them."""
    stages = live_stages(db)
    all_bills = bills(db)
    totals = [
        ("bills", len(all_bills)),
        ("live stages", sum(len(r) for r in stages.values())),
        (
            "stages gone upstream (history)",
            db.execute("SELECT count(*) FROM stages WHERE gone_at IS NOT NULL").fetchone()[0],
        ),
        ("merged-review links", db["merged_reviews"].count),
        ("sponsors", db["sponsors"].count),
        ("problems", db["problems"].count),
        (
            "open disagreements",
            db.execute("SELECT count(*) FROM disagreements WHERE superseded_at IS NULL").fetchone()[0],
        ),
    ]
    by_kind: Counter[str | None] = Counter()
    by_age: Counter[str] = Counter()
    for bill in all_bills:
        stage = bill["current_stage"]
        if stage in PASSED:
            own = [s for s in stages.get(bill["bill_no"], []) if s["stage"] == stage]
            kinds = [effective_kind(s) for s in own if effective_kind(s)]
            by_kind[
                f"{stage}: {bill.get('current_stage_evidence') or (kinds[0] if kinds else None) or '(none)'}"
            ] += 1
        if stage == "expired":
            end, as_of = term_end(bill["term"]), iso_day(bill.get("as_of"))
            if as_of is None or end is None:
                by_age["data age unknown"] += 1
            else:
                by_age[
                    "data newer than the term's end"
                    if as_of.isoformat() > end
                    else "data from before the term's end"
                ] += 1
        elif stage not in SETTLED_STAGES and (end := term_end(bill["term"])) and end < today.isoformat():
            # not expired: the term is over but the data is not newer than its end ("as of")
            as_of = iso_day(bill.get("as_of"))
            by_age[f"not expired, kept at its last stage as of {as_of or 'an unknown day'}"] += 1
    q = db.execute
    return {
        "totals": totals,
        "bills by current stage": _counts(Counter(b["current_stage"] for b in all_bills).items()),
        "passes by evidence kind": _counts(by_kind.items()),
        "expiries by data age": _counts(by_age.items()),
        "links by kind": _counts(q("SELECT kind, count(*) FROM merged_reviews GROUP BY kind").fetchall()),
        "problems by kind": _counts(q("SELECT kind, count(*) FROM problems GROUP BY kind").fetchall()),
        "disagreements by field": _counts(
            q(
                "SELECT field, count(*) FROM disagreements WHERE superseded_at IS NULL GROUP BY field"
            ).fetchall()
        ),
    }


# --- running and rendering --------------------------------------------------------------------


def run_audit(
    db: sqlite_utils.Database, today: date | None = None, checks: Iterable[Check] = CHECKS
) -> Report:
    today = today or today_in_taipei()
    results = []
    for check in checks:
        found = check.run(db, today)
        results.append(CheckResult(check.name, check.description, len(found), found[:EXAMPLES]))
    return Report(results, info_tables(db, today))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def checks_markdown(checks: Iterable[Check] = CHECKS) -> str:
    """The table of checks in docs/cli.md, generated here so the docs cannot drift from the code."""
    lines = ["| check | what it promises |", "| --- | --- |"]
    lines += [f"| `{c.name}` | {_cell(c.description)} |" for c in checks]
    return "\n".join(lines) + "\n"


def example_text(v: Violation) -> str:
    return f"{v.bill_no}: {v.what}" + (f" [{v.evidence}]" if v.evidence else "")


def render_text(report: Report) -> str:
    """check | violations | example, then every informational table."""
    width = max(len(r.name) for r in report.results)
    lines = [f"{'check'.ljust(width)} | violations | example", f"{'-' * width}-+------------+--------"]
    for r in report.results:
        first = example_text(r.examples[0]) if r.examples else ""
        lines.append(f"{r.name.ljust(width)} | {r.count:>10} | {first}")
        lines += [f"{''.ljust(width)} | {'':>10} | {example_text(v)}" for v in r.examples[1:]]
    for title, rows in report.info.items():
        lines += ["", f"{title}:"]
        key_width = max([len(k) for k, _ in rows] + [4])
        lines += [f"  {k.ljust(key_width)} {n:>7}" for k, n in rows] or ["  (none)"]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    """The tables of docs/fidelity.md ("Fidelity on real bills"), ready to paste."""
    lines = ["| check | violations | example |", "| --- | --- | --- |"]
    for r in report.results:
        first = example_text(r.examples[0]) if r.examples else ""
        lines.append(f"| `{r.name}` | {r.count:,} | {_cell(first[:160])} |")
    for title, rows in report.info.items():
        lines += [
            "",
            f"**{title[0].upper()}{title[1:]}**",
            "",
            f"| {title.split(' by ')[-1]} | count |",
            "| --- | --- |",
        ]
        lines += [f"| {_cell(k)} | {n:,} |" for k, n in rows] or ["| (none) | 0 |"]
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> dict[str, Any]:
    return {
        "violations": report.violations,
        "failed_checks": [r.name for r in report.failed],
        "checks": [
            {
                "name": r.name,
                "description": r.description,
                "violations": r.count,
                "examples": [
                    {"bill_no": v.bill_no, "what": v.what, "evidence": v.evidence} for v in r.examples
                ],
            }
            for r in report.results
        ],
        "info": {title: [{"key": k, "count": n} for k, n in rows] for title, rows in report.info.items()},
    }
