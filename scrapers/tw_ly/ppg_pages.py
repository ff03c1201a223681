"""Reading ppg.ly.gov.tw bill detail pages, both layouts. UNVERIFIED against a live page.

No raw ppg page was ever recorded (../shared/samples/PROVENANCE.md): this parser follows the
research notes -- an older table layout with 議案流程 rows (會期, 日期, 院會/委員會, 狀態) and a
newer card layout whose 審議進度 is a <dl> of dates (<dt>) and steps (<dd>) -- and the fixtures in
billtracker/replay/fixtures/ppg/ were written to that description with the CIO bill's real facts. Run
`billtracker record URL` against the live site and compare before trusting it.

Thymeleaf leftovers (`th:text` attributes, literal `${...}` when a template was served
unrendered) are stripped, never read as data.
"""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup, Tag

from scrapers.tw_ly.responses import BadBody

_THYMELEAF = re.compile(r"[$*#]\{[^}]*\}")
_DATE_SPLIT = re.compile(r"[、,，\s]+")
_BILL_NO = re.compile(r"\b(\d{15,16})\b")


def clean(text: str | None) -> str:
    """Whitespace trimmed, Thymeleaf expressions removed; otherwise as published."""
    return _THYMELEAF.sub("", text or "").strip()


def _field_text(node: Tag | None) -> str:
    return clean(node.get_text(" ", strip=True)) if node is not None else ""


def _names(node: Tag | None) -> list[str]:
    if node is None:
        return []
    items = node.select("span.name, li")
    texts = [clean(i.get_text(strip=True)) for i in items] if items else [clean(node.get_text(strip=True))]
    return [t for t in texts if t]


def _related(node: Tag | None) -> list[dict[str, str]]:
    out = []
    for a in node.find_all("a") if node is not None else []:
        found = _BILL_NO.search(a.get("href", "") + " " + a.get_text())
        if found:
            out.append({"bill_no": found.group(1), "title": clean(a.get_text(" ", strip=True))})
    return out


def parse_old_layout(soup: BeautifulSoup) -> dict[str, Any]:
    fields: dict[str, Tag] = {}
    for tr in soup.select("table.bill-detail tr"):
        th, td = tr.find("th"), tr.find("td")
        if th is not None and td is not None:
            fields[clean(th.get_text())] = td
    flow = []
    for tr in soup.select("table.bill-flow tbody tr"):
        cells = tr.find_all("td")
        if len(cells) < 4:
            continue
        dates = [clean(s) for s in cells[1].stripped_strings if clean(s)]
        flow.append(
            {
                "session_code": _field_text(cells[0]),
                "dates": dates,
                "venue": _field_text(cells[2]),
                "status_raw": _field_text(cells[3]),
            }
        )
    return _record(fields, flow, title=_field_text(fields.get("議案名稱")))


def parse_card_layout(soup: BeautifulSoup, progress: Tag) -> dict[str, Any]:
    fields: dict[str, Tag] = {}
    for dt in soup.select("dl.bill-info dt"):
        dd = dt.find_next_sibling("dd")
        if dd is not None:
            fields[clean(dt.get_text())] = dd
    flow = []
    for dt in progress.find_all("dt"):
        dd = dt.find_next_sibling("dd")
        dates = [d for d in _DATE_SPLIT.split(clean(dt.get_text(" ", strip=True))) if d]
        status = _field_text(dd.select_one(".status") if dd is not None else None)
        if not status and not dates:
            continue  # an unrendered template row (${step.date}): nothing was published
        flow.append(
            {
                "session_code": _field_text(dd.select_one(".session") if dd is not None else None),
                "dates": dates,
                "venue": _field_text(dd.select_one(".venue") if dd is not None else None),
                "status_raw": status,
            }
        )
    title = _field_text(soup.select_one(".card-title"))
    return _record(fields, flow, title=title)


def _record(fields: dict[str, Tag], flow: list[dict[str, Any]], title: str) -> dict[str, Any]:
    return {
        "title": title,
        "proposer_text": _field_text(fields.get("提案單位/提案委員")),
        "filed_on_raw": _field_text(fields.get("提案日期")),
        "status_raw": _field_text(fields.get("議案狀態")),
        "proposers": _names(fields.get("提案人")),
        "cosponsors": _names(fields.get("連署人")),
        "related": _related(fields.get("關連議案")),
        "flow": flow,
    }


def parse_detail(html: str) -> dict[str, Any]:
    """The bill fields of a detail page, either layout; BadBody when it is neither."""
    soup = BeautifulSoup(html, "lxml")
    for card in soup.select("div.card"):
        header = card.select_one(".card-header")
        if header is not None and "審議進度" in header.get_text():
            progress = card.select_one("dl")
            if progress is not None:
                return {"layout": "card", **parse_card_layout(soup, progress)}
    heading = soup.find(string=re.compile("議案流程"))
    if soup.select_one("table.bill-detail") is not None and heading is not None:
        return {"layout": "table", **parse_old_layout(soup)}
    raise BadBody("unknown-layout", "neither the 議案流程 table nor the 審議進度 card is on the page")
