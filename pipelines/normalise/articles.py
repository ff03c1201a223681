"""A bill's amended articles, one row each, from its 修正條文對照表 or, failing that, its title.

Sources, best first:
- LYAPI's 對照表 (202110213410000): tables of rows keyed by column headers. The API writes
  修正/現行/說明, the documents themselves write 修正條文/現行條文/說明, 增訂條文/說明,
  審查會通過條文/委員提案條文/現行條文/說明 and more: HEADERS maps every variant we know to the
  column it is. A header we do not know is kept in `extra` and reported, never dropped.
- The title (the 9th-term bills have no 對照表): 「行政院組織法第六條條文修正草案」 names law and
  article but no text; such rows say so (origin 'title', proposed text NULL).
Pure functions: the store writes the rows (pipelines/store/pipeline.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.normalise.article_numbers import ARTICLE_RE, article_key, cn_int, parse_article

# Column header as published -> (column, version). Longest first is not needed: exact match after
# stripping spaces. version says whose text it is: proposed (the bill's), committee (審查會),
# passed (三讀), current (the law in force).
HEADERS: dict[str, tuple[str, str]] = {
    **{
        h: ("text", "proposed")
        for h in (
            "修正",
            "修正條文",
            "增訂",
            "增訂條文",
            "條文",
            "擬修正條文",
            "草案條文",
            "提案條文",
            "委員提案條文",
            "行政院提案條文",
            "修正名稱",
            "名稱",
            "新增條文",
            "制定條文",
            "刪除條文",
        )
    },
    **{
        h: ("text", "committee")
        for h in (
            "審查會通過條文",
            "審查會條文",
            "審查會通過",
            "委員會審查條文",
            "審查會修正條文",
            "協商條文",
        )
    },
    **{h: ("text", "passed") for h in ("三讀條文", "院會通過條文", "三讀通過條文")},
    **{h: ("current", "") for h in ("現行", "現行條文", "原條文", "現行法", "現行名稱")},
    **{h: ("explanation", "") for h in ("說明", "立法說明", "修正說明", "立法理由", "理由")},
}
IGNORED_KEYS = {"law_content_id"}

TITLE_QUOTE_RE = re.compile(r"「([^」]+)」")
TITLE_ARTICLE_RE = re.compile(rf"(?P<verb>刪除|增訂)?(?P<article>{ARTICLE_RE.pattern})")


@dataclass
class ArticleProblem:
    kind: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


def header(key: str) -> tuple[str, str] | None:
    return HEADERS.get(re.sub(r"[\s\u3000]", "", key or ""))


def _base_row(bill_no: str, law_code: str, law_name: str, kind: str) -> dict[str, Any]:
    return {
        "bill_no": bill_no,
        "law_code": law_code,
        "law_name": law_name,
        "kind": kind,
        "article_no": "",
        "article_main": None,
        "article_sub": None,
        "article_key": "",
        "version": "proposed",
        "header_raw": "",
        "text": None,
        "current": None,
        "explanation": None,
        "extra": "{}",
        "table_title": "",
        "law_content_id": "",
        "origin": "table",
        "note": "",
    }


def _set_number(row: dict[str, Any], *cells: str | None) -> None:
    for cell in cells:
        m = ARTICLE_RE.search((cell or "")[:40])
        if m:
            number = parse_article(m.group(0))
            if number:
                row["article_no"] = m.group(0)
                row["article_main"], row["article_sub"] = number
                row["article_key"] = article_key(*number)
                return


def rows_from_tables(bill_no: str, tables: Any) -> tuple[list[dict[str, Any]], list[ArticleProblem]]:
    """LYAPI 對照表 -> one row per (article, version). A table row holding a committee text and a
    proposal gives two rows that share number, current text and 說明."""
    rows: list[dict[str, Any]] = []
    problems: list[ArticleProblem] = []
    if tables in (None, ""):
        return rows, problems
    if not isinstance(tables, list):
        return rows, [ArticleProblem("wrong-shape", f"{bill_no}: 對照表 is not a list")]
    for t_index, table in enumerate(tables):
        if not isinstance(table, dict):
            problems.append(ArticleProblem("wrong-shape", f"{bill_no}: 對照表[{t_index}] is not an object"))
            continue
        law_code = str(table.get("law_id") or "")
        law_name = str(table.get("law_name") or "")
        kind = str(table.get("立法種類") or "")
        for r_index, cells in enumerate(table.get("rows") or []):
            if not isinstance(cells, dict):
                problems.append(
                    ArticleProblem(
                        "wrong-shape", f"{bill_no}: 對照表[{t_index}].rows[{r_index}] not an object"
                    )
                )
                continue
            texts: dict[str, tuple[str, str]] = {}  # version -> (header, text)
            current = explanation = None
            extra: dict[str, Any] = {}
            for key, value in cells.items():
                if key in IGNORED_KEYS:
                    continue
                known = header(key)
                if known is None:
                    extra[key] = value
                    continue
                column, version = known
                value = "" if value is None else str(value)
                if column == "text":
                    texts[version] = (key, value)
                elif column == "current":
                    current = value
                else:
                    explanation = value
            if extra:
                problems.append(
                    ArticleProblem(
                        "unknown-column",
                        f"{bill_no}: 對照表[{t_index}] has column(s) {', '.join(extra)} no rule knows; kept",
                        {"columns": list(extra), "table": t_index, "row": r_index},
                    )
                )
            if not texts:
                texts["proposed"] = ("", "")
            for version, (key, text) in texts.items():
                row = _base_row(bill_no, law_code, law_name, kind)
                row.update(
                    version=version,
                    header_raw=key,
                    text=text or None,
                    current=current or None,
                    explanation=explanation or None,
                    extra=json.dumps(extra, ensure_ascii=False),
                    table_title=str(table.get("title") or ""),
                    law_content_id=str(cells.get("law_content_id") or ""),
                )
                _set_number(row, text, current)
                if not row["article_no"]:
                    row["note"] = "no article number in this row (a name or a chapter heading)"
                rows.append(row)
    return rows, problems


def rows_from_title(bill_no: str, title: str, laws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """「行政院組織法第六條及第十五條條文修正草案」 -> articles 6 and 15 of 行政院組織法, no text.
    第三條至第五條 is a range. A whole-law bill (部分條文, 草案, 廢止) names no article: no rows."""
    rows: list[dict[str, Any]] = []
    for quoted in TITLE_QUOTE_RE.findall(title or ""):
        matches = list(TITLE_ARTICLE_RE.finditer(quoted))
        if not matches:
            continue
        law_name = quoted[: matches[0].start()]
        law_code = _law_code(law_name, laws)
        numbers: list[tuple[int, int, str, str]] = []
        for i, m in enumerate(matches):
            number = parse_article(m.group("article"))
            if number is None:
                continue
            if i and quoted[matches[i - 1].end() : m.start()].strip() in {"至", "到"} and numbers:
                start = numbers[-1][0]
                numbers += [(n, 0, f"第{n}條", "") for n in range(start + 1, number[0])]
            numbers.append((*number, m.group("article"), m.group("verb") or ""))
        kind = "修正條文"
        if "刪除" in quoted:
            kind = "刪除條文"
        elif "增訂" in quoted:
            kind = "增訂條文"
        for main, sub, label, verb in numbers:
            row = _base_row(
                bill_no, law_code, law_name, {"刪除": "刪除條文", "增訂": "增訂條文"}.get(verb, kind)
            )
            row.update(
                article_no=label,
                article_main=main,
                article_sub=sub,
                article_key=article_key(main, sub),
                origin="title",
                table_title=quoted,
                note="article known from the bill's title; the proposed text is not in our sources",
            )
            rows.append(row)
    return rows


def _law_code(law_name: str, laws: list[dict[str, Any]]) -> str:
    for law in laws:
        if law.get("law_name") == law_name:
            return str(law["law_code"])
    return str(laws[0]["law_code"]) if len(laws) == 1 else ""


def article_rows(
    bill_no: str, record: dict[str, Any], laws: list[dict[str, Any]], prov: dict[str, str]
) -> tuple[list[dict[str, Any]], list[ArticleProblem]]:
    """Every article row of one bill record, numbered seq 0.. in source order, with provenance."""
    rows, problems = rows_from_tables(bill_no, record.get("對照表"))
    if not rows:
        rows = rows_from_title(bill_no, str(record.get("議案名稱") or ""), laws)
    for seq, row in enumerate(rows):
        row["seq"] = seq
        row.update(prov)
        row["gone_at"] = None
    return rows, problems


__all__ = ["article_rows", "rows_from_tables", "rows_from_title", "header", "cn_int", "HEADERS"]
