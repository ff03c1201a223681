"""Every replay scenario stores what its golden dump says, row for row (tests/golden.py).

The dumps were made from the code as it was when they were last regenerated, so a change to
the store, the sources, reconcile or history that changes any stored row fails here, with the
first rows that differ. A change meant to change stored data regenerates them
(`.venv/bin/python -m tests.golden --update`) and the diff of tests/files/golden/ is reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import golden

BUILDS = [("replay", "crawl"), ("replay", "recrawl"), ("store_runs", "batch 1"), ("store_runs", "batch 500")]
# The replay scenario crawls in subprocesses; store_runs runs the store in this process.
PARAMS = [
    pytest.param(s, b, id=f"{s}-{b}", marks=[pytest.mark.slow] if s == "replay" else []) for s, b in BUILDS
]


Built = Callable[[str], dict[str, golden.Dump]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path) -> Built:
    """A scenario's builds, dumped: each scenario built once for this module, when first asked for."""
    cache: dict[str, dict[str, golden.Dump]] = {}

    def get(scenario: str) -> dict[str, golden.Dump]:
        if scenario not in cache:
            cache[scenario] = golden.build_dumps(scenario, tmp_path_factory.mktemp(scenario), samples_dir)
        return cache[scenario]

    return get


@pytest.mark.parametrize(("scenario", "build"), PARAMS)
def test_stores_what_the_golden_dump_says(built: Built, scenario: str, build: str) -> None:
    want = golden.split(golden.read_golden(scenario), build)
    got = built(scenario)[build]
    assert got == want, golden.first_differences(want, got)


def test_every_build_is_checked() -> None:
    """Each scenario's file is compared, and names no build the comparison leaves out."""
    assert {s for s, _ in BUILDS} == set(golden.SCENARIOS)
    for scenario in golden.SCENARIOS:
        tagged: set[str] = set()
        for line in golden.read_golden(scenario):
            parsed = json.loads(line)
            if parsed[0] != "#columns" and len(parsed) == 3:
                tagged |= set(parsed[2])
        assert tagged <= {b for s, b in BUILDS if s == scenario}, scenario


def golden_rows(scenario: str, build: str) -> dict[str, list[dict[str, Any]]]:
    """A build's rows in the golden file, per table, as {column: value}."""
    columns: dict[str, list[str]] = {}
    tables: dict[str, list[dict[str, Any]]] = {}
    for line in golden.split(golden.read_golden(scenario), build):
        parsed = json.loads(line)
        if parsed[0] == "#columns":
            columns[parsed[1]] = parsed[2]
        else:
            tables.setdefault(parsed[0], []).append(dict(zip(columns[parsed[0]], parsed[1], strict=True)))
    return tables


@pytest.mark.parametrize("build", ["batch 1", "batch 500"])
def test_the_store_runs_reach_every_rule_they_claim_to(build: str) -> None:
    """What the retired test_store_equivalence asserted of its scenario, of the golden rows."""
    expected = golden_rows("store_runs", build)
    kinds = {row["kind"] for row in expected["problems"]}
    assert {"flow-vanished", "table-vanished", "store-error", "wrong-type", "unknown-stage"} <= kinds
    change_kinds = {row["kind"] for row in expected["changes"]}
    assert {"new-bill", "stage-added", "sponsor-added", "sponsor-removed", "title-changed"} <= change_kinds
    assert {"related-added", "disagreement"} <= change_kinds
    assert expected["change_watches"] and any(row["gone_at"] for row in expected["stages"])
    assert any(row["gone_at"] for row in expected["articles"])
    assert [row["name"] for row in expected["laws"] if row["law_code"] == golden.NEW_LAW] == ["新法"]
    assert [row["name"] for row in expected["laws"] if row["law_code"] == golden.ROLLED_BACK_LAW] == ["好法"]
    assert max(row["times"] for row in expected["problems"]) == 3  # one problem, three runs: one row


def test_the_replay_builds_reach_what_reconcile_derives() -> None:
    """The replay scenario holds what reconcile writes: merged-review links, disagreements, stage
    sources, source-only events, promulgations; and in the second crawl rows gone (the status 三讀
    of a bill whose own 三讀 came, source-only events its own 議案流程 now lists)."""
    for build in ("crawl", "recrawl"):
        rows = golden_rows("replay", build)
        assert rows["merged_reviews"] and rows["disagreements"] and rows["stage_sources"], build
        kinds = {r["evidence_kind"] for r in rows["stages"]}
        assert {"flow", "field", "source-event", "law-version"} <= kinds, build
    recrawl = golden_rows("replay", "recrawl")
    withdrawn = {r["evidence_kind"] for r in recrawl["stages"] if "evidence gone" in (r["note"] or "")}
    assert "source-status" in withdrawn  # the 三讀 a status gave, once the bill's own flow has it
    assert any(r["gone_at"] for r in recrawl["stages"] if r["evidence_kind"] == "source-event")
    assert len(recrawl["scrape_runs"]) == 2 * len(golden_rows("replay", "crawl")["scrape_runs"])


def test_a_difference_is_shown_row_by_row() -> None:
    want = ['["#columns", "bills", ["bill_no", "title"]]', '["bills", ["1", "a"]]', '["bills", ["2", "b"]]']
    got = [want[0], want[1], '["bills", ["2", "c"]]']
    message = golden.first_differences(want, got)
    assert message.splitlines()[:3] == [
        "rows only in the golden file (-) or only in this run (+): bills -1 +1",
        '- bills {"bill_no": "2", "title": "b"}',
        '+ bills {"bill_no": "2", "title": "c"}',
    ]


def test_merged_builds_split_back() -> None:
    dumps = {"one": ['["t", [1]]', '["t", [2]]', '["t", [2]]'], "two": ['["t", [1]]', '["t", [2]]']}
    merged = golden.merge(dumps)
    assert merged == ['["t", [1]]', '["t", [2], ["one"]]', '["t", [2]]']
    assert {name: golden.split(merged, name) for name in dumps} == dumps
