"""併案: which bills a committee's merged-review report (審查報告) merges, from evidence only.

A link is stored only on evidence that names the bill:
- ``related``: a 關連議案 list, on either side, names the other (misq and LYAPI publish both).
- ``title``: the report's title names the bill's sponsor *and* the bill's own 「title」 in the
  same clause: "併案審查行政院函請審議「保全業法第十條之一條文修正草案」、委員盧秀燕等34人擬具
  「保全業法第十條之一條文修正草案」..." names 盧秀燕等34人 with that title, and only a bill of
  盧秀燕等34人 titled so, filed before the report, is that one.
- ``candidate``: the title's clause fits more than one bill: every one is stored and shown, none
  moves a stage.

A headcount alone is never evidence: "委員曾銘宗等16人" names a dozen unrelated bills of one
legislator (1051207070200500, 財政收支劃分法, was shown passed through the 證券交易稅 report
1070411070300300 that way). The links are rebuilt from what is stored on every run, so they
never depend on the order records arrived in, and a link whose evidence is gone is gone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipelines.normalise.names import alias_key, person_key

REPORT_MARK = "0703"  # billNo digits 8-11 of a committee's 審查報告

_QUOTE = re.compile(r"「([^」]+)」")
_TITLE_NOISE = re.compile(r"[「」『』，,。、\s]|請審議案|案$")
# Sponsors a clause of a report title names: 委員X等N人, 委員X (alone), a caucus, a branch.
_SPONSOR = re.compile(
    r"委員(?P<name>[^、及等「」，,]+?)等(?P<count>\d+)人"
    r"|(?P<caucus>[^\W\d_及以與和、本院]{2,6}黨團)"
    r"|(?P<org>行政院|司法院|考試院|監察院)"
    r"|委員(?P<single>[^、及等「」，,\s]+?)(?=擬具|、|及|分別|提案|所提)"
)
# The sponsor a bill's own 提案單位/提案委員 names: 本院委員王榮璋等16人, 本院時代力量黨團, 行政院.
_BILL_SPONSOR = re.compile(
    r"委員(?P<name>.+?)等(?P<count>\d+)人|(?P<caucus>[^\W\d_及以與和、本院]{2,6}黨團)"
    r"|^(?P<org>行政院|司法院|考試院|監察院)|委員(?P<single>\S+)$"
)


def is_report(bill_no: str) -> bool:
    """1050926070300100 -> True: digits 8-11 are 0703 (委員會審查報告)."""
    return len(bill_no) >= 11 and bill_no[7:11] == REPORT_MARK


def report_filed_on(bill_no: str) -> str | None:
    """The day a 16-digit billNo was filed: its first 7 digits are the ROC date (1051122... ->
    2016-11-22). A report's 三讀 cannot precede it."""
    if len(bill_no) != 16 or not bill_no[:7].isdigit():
        return None
    try:
        return date(int(bill_no[:3]) + 1911, int(bill_no[3:5]), int(bill_no[5:7])).isoformat()
    except ValueError:
        return None


def filed_key(bill_no: str) -> str:
    """The ROC date a 16-digit billNo begins with (1051122...: 105-11-22), comparable as text."""
    return bill_no[:7]


def title_key(title: str) -> str:
    """Compare titles, not their wrappers: 「X草案」，請審議案。 (LYAPI) == X草案 (lis)."""
    return _TITLE_NOISE.sub("", title or "").removesuffix("案")


def own_titles(title: str) -> list[str]:
    """The quoted titles of a bill's 議案名稱 (「會計師法第六條條文修正草案」), as keys."""
    quoted = _QUOTE.findall(title or "")
    return [title_key(q) for q in quoted] or ([title_key(title)] if title else [])


def _sponsor_key(match: re.Match[str]) -> str | None:
    if match.group("name"):
        return f"{alias_key(person_key(match.group('name')))}等{int(match.group('count'))}人"
    if match.group("caucus"):
        return match.group("caucus")
    if match.group("org"):
        return match.group("org")
    if match.group("single"):
        return f"{alias_key(person_key(match.group('single')))}等1人"
    return None


def bill_sponsor(proposer_text: str) -> str | None:
    """本院委員王榮璋等16人 -> 王榮璋等16人; 行政院 -> 行政院; None when it names nobody."""
    found = _BILL_SPONSOR.search((proposer_text or "").strip())
    return _sponsor_key(found) if found else None


@dataclass(frozen=True)
class Clause:
    """One 「title」 of a report title and the sponsors named for it."""

    title: str  # title_key of the quoted title
    sponsors: frozenset[str]
    text: str  # the words of the report title this clause rests on


def clauses(report_title: str) -> list[Clause]:
    """The (sponsors, 「title」) clauses of a report title. A quote with no sponsor before it
    shares the previous quote's ("行政院函請審議「刑事訴訟法…」及「刑事訴訟法施行法…」")."""
    text = report_title or ""
    start = text.find("審查")
    position = start + 2 if start >= 0 else 0
    out: list[Clause] = []
    previous: frozenset[str] = frozenset()
    for quote in _QUOTE.finditer(text, position):
        before = text[position : quote.start()]
        names = frozenset(k for m in _SPONSOR.finditer(before) if (k := _sponsor_key(m)))
        sponsors = names or previous
        out.append(Clause(title_key(quote.group(1)), sponsors, (before + quote.group(0)).lstrip("、及以")))
        previous = sponsors
        position = quote.end()
    return out


@dataclass(frozen=True)
class Link:
    report_bill_no: str
    bill_no: str
    kind: str  # related | title | candidate
    evidence: str
    source_url: str
    report_title: str


@dataclass(frozen=True)
class BillText:
    """What linking needs of one stored bill: its texts, and from its own record when it went
    to committee, when it was settled and whether its 關連議案 name any report."""

    bill_no: str
    title: str
    proposer_text: str
    referred_on: str | None = None  # its first 一讀 / 交付審查
    settled_on: str | None = None  # its first 撤案 / 不予審議 / 三讀
    names_reports: bool = False


def fit(bill: BillText, report_day: str) -> str:
    """Can this bill be in a report filed on report_day? "no" when its own record says it cannot
    (settled before, or not yet in committee: 1050203070102200, 行政院's 勞動基準法 bill withdrawn
    2016-07-08, fits the titles of three later reports on the new bill), "unknown" when its
    record does not say (no dated referral; its 關連議案 name another report), else "yes"."""
    if bill.settled_on and bill.settled_on < report_day:
        return "no"
    if bill.referred_on and bill.referred_on > report_day:
        return "no"
    if not bill.referred_on or bill.names_reports:
        return "unknown"
    return "yes"


def related_links(
    related: Iterable[dict[str, Any]], titles: dict[str, str]
) -> tuple[dict[tuple[str, str], Link], dict[str, tuple[str, str]]]:
    """Links from 關連議案 rows ({bill_no, related_bill_no, related_title, source_url}), either
    side a report; and every report's title with where it was read ({report: (title, url)})."""
    links: dict[tuple[str, str], Link] = {}
    reports: dict[str, tuple[str, str]] = {b: (t, "") for b, t in titles.items() if is_report(b) and t}
    for r in sorted(related, key=lambda r: (r["bill_no"], r["related_bill_no"], r["source_url"])):
        a, b = r["bill_no"], r["related_bill_no"]
        if is_report(a) == is_report(b):
            continue
        report, bill = (b, a) if is_report(b) else (a, b)
        if report == b and r.get("related_title") and report not in reports:
            reports[report] = (r["related_title"], r["source_url"])
        key = (report, bill)
        if key not in links:
            links[key] = Link(report, bill, "related", f"關連議案 of {a} lists {b}", r["source_url"], "")
    return links, reports


def title_links(
    reports: dict[str, tuple[str, str]], bills: Iterable[BillText], linked: set[tuple[str, str]]
) -> dict[tuple[str, str], Link]:
    """Links from report titles: a clause naming a bill's sponsor and its own 「title」, the bill
    filed no later than the report and, by its own record, in committee then (`fit`). One bill
    fits for sure: `title`; several, or one its record cannot confirm: each a `candidate`."""
    index: dict[tuple[str, str], list[BillText]] = defaultdict(list)
    for bill in bills:
        if is_report(bill.bill_no):
            continue
        sponsor = bill_sponsor(bill.proposer_text)
        if sponsor is None:
            continue
        for key in own_titles(bill.title):
            index[(sponsor, key)].append(bill)
    out: dict[tuple[str, str], Link] = {}
    for report in sorted(reports):
        title, url = reports[report]
        day = report_filed_on(report) or ""
        for clause in clauses(title):
            for sponsor in sorted(clause.sponsors):
                named = index.get((sponsor, clause.title), [])
                early = {b.bill_no: b for b in named if filed_key(b.bill_no) <= filed_key(report)}
                if any((report, b) in linked for b in early):
                    continue  # a 關連議案 link already names which bill it is
                fits = {b: bill for b, bill in sorted(early.items()) if fit(bill, day) != "no"}
                sure = len(fits) == 1 and all(fit(bill, day) == "yes" for bill in fits.values())
                for bill_no, bill in fits.items():
                    evidence = f"report title names {sponsor} and 「{clause.title}」: {clause.text}"
                    if len(fits) > 1:
                        evidence += f" (fits {len(fits)} bills: {', '.join(fits)})"
                    elif not sure:
                        evidence += (
                            " (its own 關連議案 name another report)"
                            if bill.names_reports
                            else " (its record has no dated referral to committee)"
                        )
                    kind = "title" if sure else "candidate"
                    out.setdefault((report, bill_no), Link(report, bill_no, kind, evidence, url, title))
    return out


def find_links(related: Iterable[dict[str, Any]], bills: list[BillText]) -> dict[tuple[str, str], Link]:
    """Every link the stored records give evidence for, keyed (report, bill), report titles set."""
    titles = {b.bill_no: b.title for b in bills if is_report(b.bill_no)}
    links, reports = related_links(related, titles)
    links |= {k: v for k, v in title_links(reports, bills, set(links)).items() if k not in links}
    return {
        key: Link(**{**link.__dict__, "report_title": reports.get(key[0], ("", ""))[0]})
        for key, link in sorted(links.items())
    }
