"""How the replay answers as LYAPI does: JSON bodies, errors, filters and v2 paging (one
implementation, shared by the bill, law, source and scale routes)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from . import lyapi

JSON_TYPE = "application/json; charset=utf-8"
DEFAULT_LIMIT = lyapi.DEFAULT_LIMIT
MAX_LIMIT = 1000
BILL_FILTERS = lyapi.BILL_FILTERS

Response = tuple[int, bytes, dict[str, str]]


class BadRequest(ValueError):
    """A query the API would reject (e.g. page=abc); answered with 400."""


class WindowExceeded(BadRequest):
    """Past Elasticsearch's result window: LYAPI answers 413 (skill.md)."""


def json_response(status: int, payload: Any) -> Response:
    """UTF-8 JSON with Chinese kept readable, as the real API sends it."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return status, body, {"Content-Type": JSON_TYPE}


def error_response(status: int, message: str) -> Response:
    return json_response(status, {"error": True, "message": message})


# --- filtering, sorting, paging ---------------------------------------------------------------


def matches(record: dict[str, Any], name: str, wanted: list[str]) -> bool:
    """True if the record's field equals (or, for lists, contains) any wanted value."""
    if name == "議案流程.狀態":
        return any(e.get("狀態") in wanted for e in record.get("議案流程", []))
    value = record.get(name)
    if isinstance(value, list):
        return any(str(v) in wanted for v in value)
    if isinstance(value, int):  # 屆, 會期: "09" and "9" both mean 9
        return any(w.strip().isdigit() and int(w) == value for w in wanted)
    return value is not None and str(value) in wanted


def query_filters(params: list[tuple[str, str]], supported: list[str]) -> dict[str, list[str]]:
    """Supported filter params of the query -> values (several values of one name are OR'ed)."""
    filters: dict[str, list[str]] = {}
    for name, value in params:
        if name in supported:
            filters.setdefault(name, []).append(value)
    return filters


def apply_filters(records: Iterable[dict[str, Any]], filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [r for r in records if all(matches(r, k, v) for k, v in filters.items())]


def positive_int(params: list[tuple[str, str]], name: str, default: int) -> int:
    """The last value of a paging param as int >= 1, or BadRequest."""
    values = [v for k, v in params if k == name]
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer: {values[-1]!r}") from exc
    if number < 1:
        raise BadRequest(f"{name} must be >= 1: {number}")
    return number


def page_of(records: list[Any], params: list[tuple[str, str]]) -> tuple[dict[str, Any], list[Any]]:
    """Paging header fields and the records on the requested page (laws, legislators)."""
    page = positive_int(params, "page", 1)
    limit = min(positive_int(params, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    if (page - 1) * limit + limit > lyapi.RESULT_WINDOW:
        raise WindowExceeded(lyapi.WINDOW_MESSAGE)
    total = len(records)
    header = {
        "total": total,
        "total_page": math.ceil(total / limit) if total else 0,
        "page": page,
        "limit": limit,
    }
    return header, records[(page - 1) * limit : page * limit]


def bill_list_item(bill: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """A list entry: the fields asked for (LYAPI's `_source`), in the record's order; 法律編號
    brings its 法律編號:str (aggMap) and every entry its url (customData)."""
    wanted = set(fields) | ({"法律編號:str"} if "法律編號" in fields else set())
    return {k: v for k, v in bill.items() if k in wanted}


def bill_field(bill: dict[str, Any], name: str) -> Any:
    """What a filter, sort or agg sees of a bill: 議案流程.狀態 is every flow entry's 狀態."""
    if name == "議案流程.狀態":
        return [e.get("狀態") for e in bill.get("議案流程") or []]
    return bill.get(name)
