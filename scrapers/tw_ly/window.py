"""Keeping every list query of LYAPI inside its 10,000-result window.

LYAPI answers 413 once `(page-1)*limit + limit > 10000` (skill.md; Elasticsearch's
`index.max_result_window`). A query with more results is split before it gets there, planned
from its `total`, into queries that each fit: first by the single-valued filter fields whose
`agg` buckets partition it exactly (屆, 議案類別, 會期, 提案來源, 議案狀態), then by halving a
range of 議案編號, the one field every bill has. A field some bills lack (15 bills of the
ly-term9 corpus have no 會期 and no 提案日期) does not partition its query, and the next is tried.

The range is LYAPI's `name:from,to` token: SearchAction.php turns it into an Elasticsearch
`range` (gte/lte) on the filter field, here `billNo.keyword`, compared as strings. skill.md does
not document range tokens; the code has them. Bill numbers have 15 digits (term 11) or 16:
a range `議案編號:P,Q9` (P, Q of 15 digits) holds exactly the bills whose first 15 digits lie in
[P, Q], so halving [P, Q] partitions it. Every split is checked: the parts must add up to the
whole, and a part as big as the whole (a filter the API ignored) is not split again.

Queries are dicts: a str/int value is `name=value`, a list is several `name=value` (OR'ed),
a {"gte": from, "lte": to} dict is the range token `name:from,to`.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from scrapers.settings import TW_LY_RESULT_WINDOW as RESULT_WINDOW

# Split fields in order: each bill has exactly one value of each, so their agg buckets partition
# a query (checked: the bucket counts must add up to its total).
SPLIT_FIELDS = ("屆", "議案類別", "會期", "提案來源", "議案狀態")
RANGE_FIELD = "議案編號"
PREFIX_DIGITS = 15

Query = dict[str, Any]


def fits(total: int, limit: int, window: int = RESULT_WINDOW) -> bool:
    """True if every page of `total` results can be asked for without a 413."""
    return math.ceil(total / max(1, limit)) * limit <= window if total else True


def page_count(total: int, limit: int) -> int:
    return math.ceil(total / max(1, limit))


def reachable_pages(limit: int, window: int = RESULT_WINDOW) -> int:
    """The last page LYAPI answers at this limit."""
    return window // max(1, limit)


def query_string(query: Query) -> list[str]:
    """The query's tokens, percent-encoded; a range is LYAPI's unencoded `name:from,to`."""
    tokens = []
    for name, value in query.items():
        key = quote(str(name), safe="")
        if isinstance(value, dict):
            tokens.append(f"{key}:{quote(str(value.get('gte', '')))},{quote(str(value.get('lte', '')))}")
        else:
            for v in value if isinstance(value, list) else [value]:
                tokens.append(f"{key}={quote(str(v), safe='')}")
    return tokens


def next_split(query: Query, tried: frozenset[str] = frozenset()) -> str | None:
    """The field to split `query` by next, or None when nothing is left to split."""
    for name in SPLIT_FIELDS:
        if name not in query and name not in tried:
            return name
    if RANGE_FIELD not in query:
        return RANGE_FIELD
    bounds = query[RANGE_FIELD]
    if isinstance(bounds, dict) and prefix_bounds(bounds)[0] < prefix_bounds(bounds)[1]:
        return RANGE_FIELD
    return None


def agg_buckets(body: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    """The buckets of the answer's `agg=name`, None when the answer has none."""
    aggs = body.get("aggs") if isinstance(body.get("aggs"), list) else []
    return next((a.get("buckets") for a in aggs if isinstance(a, dict) and a.get("agg") == name), None)


def bucket_children(
    query: Query, name: str, buckets: list[dict[str, Any]], total: int
) -> list[tuple[Query, int]] | None:
    """The sub-queries of one agg's buckets with their counts, or None when the buckets do not add
    up to `total` (bills without the field, or more than the 100 buckets an agg returns)."""
    children = [({**query, name: b[name]}, int(b.get("count") or 0)) for b in buckets if name in b]
    if sum(count for _, count in children) != total:
        return None
    return [(child, count) for child, count in children if count]


def prefix_bounds(bounds: dict[str, str]) -> tuple[int, int]:
    """[P, Q] of a `議案編號:P,Q9` range, as numbers."""
    return int(bounds["gte"][:PREFIX_DIGITS]), int(bounds["lte"][:PREFIX_DIGITS])


def prefix_range(low: int, high: int) -> dict[str, str]:
    """The range of the bills whose first 15 digits lie in [low, high]."""
    return {"gte": f"{low:0{PREFIX_DIGITS}d}", "lte": f"{high:0{PREFIX_DIGITS}d}9"}


def range_children(query: Query) -> list[Query]:
    """Two halves of the query's 議案編號 range (all bill numbers when it has none)."""
    bounds = query.get(RANGE_FIELD)
    if isinstance(bounds, dict):
        low, high = prefix_bounds(bounds)
    else:
        low, high = 0, 10**PREFIX_DIGITS - 1
    middle = (low + high) // 2
    return [
        {**query, RANGE_FIELD: prefix_range(low, middle)},
        {**query, RANGE_FIELD: prefix_range(middle + 1, high)},
    ]


class SplitCheck:
    """The parts of a range split report their totals here; when all have, they must add up."""

    def __init__(self, query: Query, expected: int, parts: int) -> None:
        self.query = query
        self.expected = expected
        self.waiting = parts
        self.found = 0

    def add(self, total: int) -> bool:
        """Count one part; True when it was the last."""
        self.found += total
        self.waiting -= 1
        return self.waiting == 0


def describe(query: Query) -> str:
    """A query as a person reads it: 屆=10&會期=3&提案日期:2021-01-01,2021-03-31."""
    parts = []
    for name, value in query.items():
        if isinstance(value, dict):
            parts.append(f"{name}:{value.get('gte', '')},{value.get('lte', '')}")
        else:
            parts.append(f"{name}={value}")
    return "&".join(parts)
