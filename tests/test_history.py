"""pipelines/history/versions.py, pipelines/history/watches.py and pipelines/store/runs.py one case
at a time: typed change events from two stored states, watch matching and config errors, run outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipelines.history.versions import KIND_LABELS, BillState, diff, disagreement
from pipelines.history.watches import DEFAULT_WATCHES, BadWatch, Watch, load_watches
from pipelines.schema import open_db
from pipelines.store.runs import outcome

BILL = "1051006070201100"


def bill(**changes: Any) -> dict[str, Any]:
    row = {
        "bill_no": BILL,
        "title": "「行政院組織法第六條條文修正草案」，請審議案。",
        "reason": "增設行政院資訊長",
        "status_raw": "交付審查",
        "current_stage": "referred",
        "current_stage_on": "2016-10-14",
        "current_stage_derived": 0,
    }
    return {**row, **changes}


def stage(
    seq: int, slug: str, raw: str, on: str, committee: str = "", origin: str = "flow"
) -> dict[str, Any]:
    return {
        "bill_no": BILL,
        "seq": seq,
        "stage": slug,
        "status_raw": raw,
        "origin": origin,
        "venue": committee or "院會",
        "committee": committee,
        "dates": json.dumps([on]),
        "on": on,
        "order_on": on,
    }


REFERRED = stage(1, "referred", "交付審查", "2016-10-14", "司法及法制委員會")
LISTED = stage(2, "committee-listed", "尚未審查", "2017-03-22", "司法及法制委員會")


def person(name: str, role: str = "cosponsor") -> dict[str, Any]:
    return {"role": role, "name": name}


def kinds(changes: list) -> list[str]:
    return [c.kind for c in changes]


def test_new_bill() -> None:
    changes = diff(BillState(None), BillState(bill(), [REFERRED]))
    assert kinds(changes) == ["new-bill"]
    assert changes[0].new_value == bill()["title"]


def test_stage_added_names_the_stage_and_committee() -> None:
    old = BillState(bill(), [REFERRED])
    new = BillState(bill(current_stage="committee-listed"), [REFERRED, LISTED])
    changes = diff(old, new)
    assert kinds(changes) == ["stage-added", "current-stage-changed", "disagreement"]
    added = changes[0]
    assert (added.stage, added.committee) == ("committee-listed", "司法及法制委員會")
    assert "尚未審查" in added.new_value and "2017-03-22" in added.new_value
    assert (changes[1].old_value, changes[1].new_value) == ("referred", "committee-listed")


def test_same_stage_at_another_position_is_not_new() -> None:
    """seq shifts when upstream inserts an entry earlier; identity is what and when."""
    moved = {**LISTED, "seq": 5}
    old = BillState(bill(), [REFERRED, LISTED])
    assert diff(old, BillState(bill(), [REFERRED, moved])) == []


def test_a_repeated_entry_is_a_stage_too() -> None:
    """1060518070280700: 交付審查, 改交其他委員會審查, 交付審查, all at one sitting."""
    again = {**REFERRED, "seq": 3}
    rereferred = stage(2, "re-referred", "改交其他委員會審查", "2016-10-14", "司法及法制委員會")
    old = BillState(bill(), [REFERRED, rereferred])
    changes = diff(old, BillState(bill(), [REFERRED, rereferred, again]))
    assert [(c.kind, c.stage) for c in changes] == [("stage-added", "referred")]


def test_expired_instead_of_a_stage_change() -> None:
    derived = stage(1000, "expired", "", "2020-01-31", origin="derived")
    changes = diff(
        BillState(bill(), [REFERRED]), BillState(bill(current_stage="expired"), [REFERRED, derived])
    )
    assert kinds(changes) == ["expired"]
    assert (changes[0].old_value, changes[0].new_value) == ("referred", "expired")


def test_sponsors_added_and_removed() -> None:
    old = BillState(bill(), [REFERRED], [person("許毓仁", "proposer"), person("蔡易餘")])
    new = BillState(bill(), [REFERRED], [person("許毓仁", "proposer"), person("鄭天財")])
    changes = diff(old, new)
    assert [(c.kind, c.old_value, c.new_value) for c in changes] == [
        ("sponsor-added", None, "鄭天財"),
        ("sponsor-removed", "蔡易餘", None),
    ]
    # A record without sponsors keeps the stored ones (StorePipeline): nothing was removed.
    assert diff(old, BillState(bill(), [REFERRED], [])) == []


def test_title_and_related() -> None:
    related = {"related_bill_no": "1051006070201200", "related_title": "「行政院資訊總處組織法草案」"}
    old = BillState(bill(), [REFERRED])
    new = BillState(bill(title="新名稱"), [REFERRED], related=[related])
    assert [(c.kind, c.new_value) for c in diff(old, new)] == [
        ("title-changed", "新名稱"),
        ("related-added", "1051006070201200"),
    ]


def test_disagreement_only_when_it_appears() -> None:
    """1050202070100500: 議案狀態 says 排入院會 while the flow ends 撤案."""
    withdrawn = stage(2, "withdrawn", "撤案", "2016-11-01")
    state = BillState(bill(status_raw="排入院會", current_stage="withdrawn"), [REFERRED, withdrawn])
    assert disagreement(state) == ("排入院會", "withdrawn")
    assert diff(state, state) == []  # still disagreeing: not a new event
    assert disagreement(BillState(bill(), [REFERRED])) is None


def test_every_kind_has_a_chinese_label(tmp_path: Path) -> None:
    db = open_db(tmp_path / "billtracker.db")
    assert {r["kind"]: r["label"] for r in db["change_kinds"].rows} == KIND_LABELS


@pytest.mark.parametrize(
    ("watch", "matches"),
    [
        (Watch("a", "keyword", "資訊長"), True),  # in 案由 only
        (Watch("b", "pattern", "*組織法*"), True),
        (Watch("c", "pattern", "組織法第六條"), True),
        (Watch("d", "pattern", "*條例*"), False),
        (Watch("e", "law", "01010"), True),
        (Watch("f", "law", "01011"), False),
        (Watch("g", "committee", "司法及法制委員會"), True),
        (Watch("h", "committee", "內政委員會"), False),
        (Watch("i", "bill", BILL), True),
    ],
)
def test_watch_matching(watch: Watch, matches: bool) -> None:
    assert watch.matches(bill(), ["01010"], {"司法及法制委員會"}) is matches


def test_default_watches_load() -> None:
    watches = load_watches(DEFAULT_WATCHES)
    assert {w.kind for w in watches} == {"law", "pattern", "keyword", "committee", "bill"}
    assert Watch("cio", "keyword", "資訊長", watches[0].title) in watches


def test_bad_watch_config(tmp_path: Path) -> None:
    path = tmp_path / "watches.toml"
    path.write_text('[[watch]]\nname = "x"\nlaw = "01010"\nkeyword = "資訊長"\n', encoding="utf-8")
    with pytest.raises(BadWatch, match=r"watches\.toml: watch #1 needs a name and exactly one of"):
        load_watches(path)
    with pytest.raises(BadWatch, match="watch config not found"):
        load_watches(tmp_path / "none.toml")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("finished", 30, 0), "ok"),
        (("finished", 0, 3), "empty"),
        (("finished", 0, 0), "empty"),  # a full crawl that stored nothing is not a quiet day
        (("finished", 0, 0, True), "ok"),  # an incremental refresh that found nothing new is
        (("finished", 0, 2, True), "empty"),
        (("shutdown", 10, 0), "interrupted"),
        (("closespider_errorcount", 10, 0), "failed"),
    ],
)
def test_run_outcome(args: tuple, status: str) -> None:
    assert outcome(*args)[0] == status


def test_broken_watch_config_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    from datetime import date

    from pipelines.store.pipeline import StorePipeline

    good = StorePipeline(str(tmp_path / "billtracker.db"), date(2026, 11, 26))
    good.open_spider()
    good.close_spider()
    broken = tmp_path / "watches.toml"
    broken.write_text("[[watch]\nname = ", encoding="utf-8")
    pipeline = StorePipeline(str(tmp_path / "billtracker.db"), date(2026, 11, 26), watches_path=str(broken))
    pipeline.open_spider()
    pipeline.close_spider()
    db = open_db(tmp_path / "billtracker.db")
    (problem,) = db["problems"].rows_where("kind = 'bad-watch-config'")
    assert "watches.toml: not valid TOML" in problem["message"] and problem["url"] == str(broken)
    assert db["watches"].count == len(load_watches(DEFAULT_WATCHES))  # the stored watches stay
