"""Type checks of a v2 bill record before it is normalised: a wrong type is a `wrong-type` problem.

normalise.py tolerates wrong types (a number where text belongs is stored as its text, a string
where a list belongs is skipped), so without this check a broken upstream field would be stored
silently. Written from the v2 swagger's shapes and the captured 202110213410000; None is allowed
everywhere (the derived records use it for facts a source lacks).
"""

from __future__ import annotations

from typing import Any

from pipelines.normalise.bill_record import Problem

BILL_FIELDS: dict[str, type] = {
    "屆": int,
    "會期": int,
    "議案編號": str,
    "會議代碼": str,
    "資料抓取時間": str,
    "提案日期": str,
    "最新進度日期": str,
    "法律編號": list,
    "法律編號:str": list,
    "相關附件": list,
    "議案流程": list,
    "關連議案": list,
    "議案名稱": str,
    "提案單位/提案委員": str,
    "議案狀態": str,
    "提案人": list,
    "連署人": list,
    "議案類別": str,
    "提案來源": str,
    "字號": str,
    "提案編號": str,
    "案由": str,
    "說明": str,
    "對照表": list,
    "url": str,
}
FLOW_FIELDS: dict[str, type] = {"日期": list, "狀態": str, "會期": str, "院會/委員會": str}


def _wrong(where: str, expected: type, value: Any) -> Problem:
    got = type(value).__name__
    return Problem(
        "wrong-type",
        f"{where}: expected {expected.__name__}, got {got} {str(value)[:60]!r}",
        {"field": where, "expected": expected.__name__, "got": got},
    )


def wrong_types(record: dict[str, Any]) -> list[Problem]:
    """One problem per field (and per 議案流程 entry field) whose type is not the documented one."""
    problems = []
    for name, expected in BILL_FIELDS.items():
        value = record.get(name)
        if (value is not None and not isinstance(value, expected)) or isinstance(value, bool):
            problems.append(_wrong(name, expected, value))
    flow = record.get("議案流程")
    for i, entry in enumerate(flow if isinstance(flow, list) else []):
        if not isinstance(entry, dict):
            problems.append(_wrong(f"議案流程[{i}]", dict, entry))
            continue
        for name, expected in FLOW_FIELDS.items():
            value = entry.get(name)
            if value is not None and not isinstance(value, expected):
                problems.append(_wrong(f"議案流程[{i}].{name}", expected, value))
        dates = entry.get("日期")
        for d in dates if isinstance(dates, list) else []:
            if not isinstance(d, str):
                problems.append(_wrong(f"議案流程[{i}].日期[]", str, d))
    return problems
