"""LYAPI v2's list rules, as its source answers them, for the replay's /v2/bills.

Built from openfunltd/ly.govapi.tw-v2 (`libraries/LYAPI/SearchAction.php`, `Type.php`,
`Type/Bill.php`) and its `skill.md`. Where the two disagree, the replay follows the code and the
docstring says so:

* Parameters are `&`-separated `name=value` tokens (several of one name are OR'ed: ES `terms`),
  or `name:from,to` tokens: a range (ES `gte`/`lte`, either end may be empty) on a filter field.
  A token with neither is an error. A parameter that is not a filter field is ignored, silently:
  `最新進度日期` is not a filter field of bills, so `最新進度日期:2021-01-01,` narrows nothing.
* `sort=FIELD>` is descending, `sort=FIELD<` ascending, a bare `FIELD` descending; without
  `sort` the order is `sortFields()`: 最新進度日期, newest first. skill.md documents a `-`
  prefix (`sort=-最新進度日期`); the code takes `-最新進度日期` for a field name Elasticsearch
  has no mapping for, and the search fails: the replay answers 500 like the code would.
* `limit` defaults to 100 (`defaultLimit()`; skill.md measured the same). Past the result window,
  `(page-1)*limit + limit > 10000`, the answer is 413 with skill.md's message (the 413 itself
  comes from the deployment, not from SearchAction.php).
* `output_fields` replaces `outputFields()` (the default list fields) and every filter field the
  query uses is added to it; the answer echoes it. `url` is always added (`customData`).
* `agg=FIELD` (or `agg=A,B`) answers `aggs`: buckets of a filter field with counts, the 100
  largest, as skill.md's `?agg=議案類別&limit=0` example.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

RESULT_WINDOW = 10_000
WINDOW_MESSAGE = "錯誤，請縮小查詢範圍或調整分頁參數後重試"
DEFAULT_LIMIT = 100
MAX_BUCKETS = 100
# Type/Bill.php filterFields() (法條編號 searches 對照表 rows; the replay leaves it out).
BILL_FILTERS = [
    "屆",
    "會期",
    "議案流程.狀態",
    "議案類別",
    "提案人",
    "連署人",
    "法律編號",
    "議案狀態",
    "會議代碼",
    "提案來源",
    "議案編號",
    "提案編號",
    "字號",
    "提案日期",
    "提案單位/提案委員",
]
INTEGER_FIELDS = {"屆", "會期"}
# Fields Elasticsearch can sort bills on (mapped, single-valued); anything else fails the search.
BILL_SORTABLE = {"最新進度日期", "提案日期", "議案編號", "屆", "會期"}
# Type/Bill.php outputFields(): a list entry without output_fields.
BILL_LIST_FIELDS = [
    "議案編號",
    "相關附件",
    "議案名稱",
    "提案單位/提案委員",
    "議案狀態",
    "資料抓取時間",
    "屆",
    "議案類別",
    "提案來源",
    "會議代碼",
    "會期",
    "字號",
    "提案編號",
    "法律編號",
    "最新進度日期",
    "提案人",
]
DEFAULT_SORT = [("最新進度日期", True)]

Param = tuple[str, "str | tuple[str, str]"]


class ApiError(ValueError):
    """An answer LYAPI gives instead of a list: status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def parse_query_string(query: str) -> list[Param]:
    """SearchAction::setQueryString: `a=b` -> (a, b); `a:x,y` -> (a, (x, y)); else an error."""
    params: list[Param] = []
    for token in query.strip("&").split("&"):
        if not token:
            continue
        if "=" in token:
            name, value = token.split("=", 1)
            params.append((unquote_plus(name), unquote_plus(value)))
        elif ":" in token:
            name, bounds = token.split(":", 1)
            low, _, high = bounds.partition(",")
            params.append((unquote_plus(name), (unquote_plus(low), unquote_plus(high))))
        else:
            raise ApiError(500, f"不支援的參數格式：{token}")
    return params


@dataclass
class Rules:
    """How this replay answers: LYAPI's by default; tests narrow the window or unsort it."""

    window: int = RESULT_WINDOW
    default_sort: list[tuple[str, bool]] | None = field(default_factory=lambda: list(DEFAULT_SORT))


@dataclass
class ListQuery:
    terms: dict[str, list[str]]
    ranges: dict[str, tuple[str, str]]
    sort: list[tuple[str, bool]] | None
    sort_echo: list[str]
    page: int
    limit: int
    output_fields: list[str] | None
    aggs: list[str]


def last_int(params: Sequence[Param], name: str, default: int) -> int:
    values = [v for k, v in params if k == name and isinstance(v, str)]
    if not values:
        return default
    try:
        return int(values[0])  # getParam: the first one
    except ValueError:
        return 0  # PHP intval('abc') == 0


def parse_list_query(
    params: Sequence[Param], rules: Rules, filters: Sequence[str] = BILL_FILTERS
) -> ListQuery:
    terms: dict[str, list[str]] = {}
    ranges: dict[str, tuple[str, str]] = {}
    for name, value in params:
        if name not in filters:
            continue
        if isinstance(value, tuple):
            ranges.setdefault(name, value)  # the first range of a name (getParams()[0])
        else:
            terms.setdefault(name, []).append(value)
    sort_params = [v for k, v in params if k == "sort" and isinstance(v, str)]
    sort: list[tuple[str, bool]] | None = rules.default_sort
    echo = [name for name, _ in rules.default_sort or []]
    if sort_params:
        sort, echo = [], sort_params
        for raw in sort_params:
            name, descending = raw, True
            if raw.endswith(">"):
                name = raw[:-1]
            elif raw.endswith("<"):
                name, descending = raw[:-1], False
            if name not in BILL_SORTABLE:
                raise ApiError(500, f"error: No mapping found for [{name}] in order to sort on")
            sort.append((name, descending))
    page = last_int(params, "page", 1)
    limit = last_int(params, "limit", DEFAULT_LIMIT)
    if page < 1 or limit < 0:
        raise ApiError(500, f"error: [from] parameter cannot be negative (page={page}, limit={limit})")
    if (page - 1) * limit + limit > rules.window:
        raise ApiError(413, WINDOW_MESSAGE)
    fields = [v for k, v in params if k == "output_fields" and isinstance(v, str) and v]
    output = fields or list(BILL_LIST_FIELDS)
    output += [f for f in [*terms, *ranges] if f not in output]
    aggs = [v for k, v in params if k == "agg" and isinstance(v, str) and v]
    for agg in aggs:
        for name in agg.split(","):
            if name not in filters:
                raise ApiError(500, f"agg 不支援 {name}（支援：{','.join(filters)}）")
    return ListQuery(terms, ranges, sort, echo, page, limit, output, aggs)


Getter = Callable[[Any, str], Any]


def as_values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def term_match(value: Any, name: str, wanted: list[str]) -> bool:
    """ES `terms`: any of the record's values equals any wanted one (integers compare as numbers)."""
    values = as_values(value)
    if name in INTEGER_FIELDS:
        numbers = {int(w) for w in wanted if w.strip().lstrip("-").isdigit()}
        return any(int(v) in numbers for v in values if str(v).strip().lstrip("-").isdigit())
    return any(str(v) in wanted for v in values)


def range_match(value: Any, name: str, low: str, high: str) -> bool:
    """ES `range` gte/lte; an empty bound is open. Dates compare as ISO days, 屆/會期 as numbers."""
    for v in as_values(value):
        if name in INTEGER_FIELDS:
            try:
                number = int(v)
                if (not low or number >= int(low)) and (not high or number <= int(high)):
                    return True
            except ValueError:
                continue
        else:
            day = str(v)[:10]
            if (not low or day >= low[:10]) and (not high or day <= high[:10]):
                return True
    return False


def select(ids: Sequence[Any], get: Getter, query: ListQuery) -> list[Any]:
    """The ids whose records match every term and range filter, in the query's sort order."""
    chosen = [
        i
        for i in ids
        if all(term_match(get(i, k), k, v) for k, v in query.terms.items())
        and all(range_match(get(i, k), k, lo, hi) for k, (lo, hi) in query.ranges.items())
    ]
    chosen.sort(key=lambda i: str(get(i, "議案編號") or ""))
    for name, descending in reversed(query.sort or []):
        present = [i for i in chosen if get(i, name) not in (None, "")]
        missing = [i for i in chosen if get(i, name) in (None, "")]  # ES: missing values last
        present.sort(key=lambda i: sort_key(get(i, name)), reverse=descending)
        chosen = present + missing
    return chosen


def sort_key(value: Any) -> Any:
    return (0, value) if isinstance(value, int) else (1, str(value))


def buckets(ids: Sequence[Any], get: Getter, agg: str) -> dict[str, Any]:
    """One `aggs` entry: the 100 largest buckets of a field (several fields: their combinations)."""
    names = agg.split(",")
    counts: Counter[tuple[Any, ...]] = Counter()
    for i in ids:
        combos: list[tuple[Any, ...]] = [()]
        for name in names:
            combos = [c + (v,) for c in combos for v in dict.fromkeys(as_values(get(i, name)))]
        counts.update(combos)
    top = counts.most_common(MAX_BUCKETS)
    return {
        "agg": agg,
        "agg_fields": names,
        "buckets": [{**dict(zip(names, key, strict=True)), "count": n} for key, n in top],
    }


def list_body(
    chosen: Sequence[Any],
    get: Getter,
    entry: Callable[[Any, list[str]], dict[str, Any]],
    query: ListQuery,
    filters: Sequence[str] = BILL_FILTERS,
) -> dict[str, Any]:
    """The /v2/bills answer for the ids `select` chose: header, echo, the page's entries (and
    aggs when asked)."""
    start = (query.page - 1) * query.limit
    page = chosen[start : start + query.limit]
    fields = list(dict.fromkeys([*(query.output_fields or []), "url"]))
    body: dict[str, Any] = {
        "total": len(chosen),
        "total_page": math.ceil(len(chosen) / query.limit) if query.limit else 0,
        "page": query.page,
        "limit": query.limit,
        "filter": query.terms,
        "id_fields": ["議案編號"],
        "sort": query.sort_echo,
        "output_fields": query.output_fields,
        "bills": [entry(i, fields) for i in page],
    }
    if query.ranges:
        body["range"] = {k: list(v) for k, v in query.ranges.items()}
    if query.aggs:
        body["aggs"] = [buckets(chosen, get, agg) for agg in query.aggs]
    body["supported_filter_fields"] = list(filters)
    return body
