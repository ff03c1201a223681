"""law.moj.gov.tw law JSON (both export formats) -> law versions (沿革) and articles.

MOJ has published two shapes of the same data: the current Open API export with English keys
(LawName, LawHistories, LawArticles[{ArticleType, ArticleNo, ArticleContent}]) and the older
XML-era export with Chinese keys (法規名稱, 沿革內容, 法規內容[{條號, 條文內容}]). Both are read into
one `MojLaw`. 沿革 is free text ("8.中華民國九十九年二月三日總統華總一義字第 09900024171 號令修正\r\n
  公布全文 15 條；..."): numbered entries whose continuation lines are indented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pipelines.normalise.article_numbers import article_key as numbered_key
from pipelines.normalise.article_numbers import cn_int, parse_article
from pipelines.normalise.dates import parse_date
from scrapers.tw_law.moj import pcode_from_url


class BadLawRecord(ValueError):
    """A MOJ law JSON object that has neither export's required keys."""


@dataclass
class LawVersion:
    seq: int
    text_raw: str
    promulgated_on: str | None
    action: str  # 制定 | 修正 | 增訂 | 刪除 | 廢止 | ''
    scope: str  # 全文 16 條 | 第 3、5、15 條 | ''


@dataclass
class LawArticle:
    seq: int
    article_no: str  # as published: '第 6 條', '第 12-3 條', '第一章 總則'
    article_key: str  # sortable: '0006-00', '0012-03'; chapters keep the previous key + 'c'
    article_type: str  # A article | C chapter heading
    text: str


@dataclass
class MojLaw:
    pcode: str
    name: str
    level: str
    category: str
    modified_on: str | None
    url: str
    export: str  # 'current' | '2019'
    versions: list[LawVersion] = field(default_factory=list)
    articles: list[LawArticle] = field(default_factory=list)


_ROC_DATE = re.compile(
    r"中華民國([零〇○一二三四五六七八九十百\d]+)年([一二三四五六七八九十\d]+)月([一二三四五六七八九十\d]+)日"
)
_ACTION = re.compile(r"(制定|修正|增訂|刪除|廢止)(?:公布|發布)?")
_SCOPE = re.compile(r"((?:全文\s*\d+\s*條)|(?:第\s*[\d、\-之\s]+條(?:條文)?))")


def roc_date_words(text: str) -> str | None:
    """'中華民國九十九年二月三日' -> '2010-02-03' (first such date in text), None if absent."""
    match = _ROC_DATE.search(text)
    if not match:
        return None
    year, month, day = (cn_int(g) for g in match.groups())
    return parse_date(f"{year}/{month}/{day}")


def split_histories(text: str) -> list[str]:
    """Numbered 沿革 entries with their indented continuation lines joined."""
    entries: list[str] = []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if re.match(r"^\s*\d+\s*\.", line) and not line.startswith("  "):
            entries.append(line.strip())
        elif entries and line.strip():
            entries[-1] += line.strip()
    return entries


def parse_history(seq: int, entry: str) -> LawVersion:
    body = re.sub(r"^\d+\s*\.\s*", "", entry)
    action = _ACTION.search(body)
    scope = _SCOPE.search(body)
    return LawVersion(
        seq=seq,
        text_raw=entry,
        promulgated_on=roc_date_words(body),
        action=action.group(1) if action else "",
        scope=re.sub(r"\s+", " ", scope.group(1)).strip() if scope else "",
    )


def article_key(article_no: str, previous: str = "0000-00") -> str:
    """MOJ's '第 12-3 條' -> '0012-03'; a chapter heading keeps the previous key + 'c'."""
    parsed = parse_article(article_no)
    return numbered_key(*parsed) if parsed else previous + "c"


def read_law(record: dict[str, Any]) -> MojLaw:
    """Either export format -> MojLaw, or BadLawRecord naming the missing keys."""
    if "LawName" in record:
        keys = ("LawName", "LawURL", "LawLevel", "LawCategory", "LawModifiedDate", "LawHistories")
        art_keys, export = ("LawArticles", "ArticleNo", "ArticleContent", "ArticleType"), "current"
    elif "法規名稱" in record:
        keys = ("法規名稱", "法規網址", "法規性質", "法規類別", "最新異動日期", "沿革內容")
        art_keys, export = ("法規內容", "條號", "條文內容", None), "2019"
    else:
        raise BadLawRecord(f"neither LawName nor 法規名稱 in keys {sorted(record)[:8]}")
    name, url, level, category, modified, histories = (str(record.get(k) or "") for k in keys)
    law = MojLaw(
        pcode=pcode_from_url(url),
        name=name.strip(),
        level=level,
        category=category,
        modified_on=parse_date(modified) if modified else None,
        url=url,
        export=export,
    )
    law.versions = [parse_history(i, e) for i, e in enumerate(split_histories(histories), start=1)]
    list_key, no_key, text_key, type_key = art_keys
    previous = "0000-00"
    for i, art in enumerate(record.get(list_key) or [], start=1):
        number = str(art.get(no_key) or "").strip()
        kind = str(art.get(type_key) or "A") if type_key else ("A" if parse_article(number) else "C")
        key = article_key(number, previous)
        previous = key.rstrip("c")
        law.articles.append(LawArticle(i, number, key, kind, str(art.get(text_key) or "")))
    return law
