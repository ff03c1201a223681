"""Source precedence, the one table of it: each field's order as documented, and `best`."""

from __future__ import annotations

import pytest

from billtracker.jobs.spiders import SPIDERS
from pipelines.reconcile.precedence import PRECEDENCE, best, rank


def test_stage_order_is_ppg_then_lyapi_then_lis_then_open_data() -> None:
    assert PRECEDENCE["stages"] == ("ppg", "lyapi", "lis", "opendata")


def test_promulgation_is_moj_first() -> None:
    assert PRECEDENCE["promulgated"][0] == "moj"


@pytest.mark.parametrize("field", ["stages", "status", "title", "sponsors", "filed_on"])
def test_every_bill_source_is_ranked(field: str) -> None:
    sources = {"ppg", "lyapi", "opendata", "lis"}
    assert set(PRECEDENCE[field]) == sources
    assert len(SPIDERS) >= len(sources)  # one spider per bill source


def test_best_picks_the_highest_ranked_reading() -> None:
    readings = [("opendata", "交付審查"), ("lyapi", "排入院會"), ("ppg", "一讀")]
    assert best("stages", readings) == ("ppg", "一讀")
    assert best("stages", readings[:2]) == ("lyapi", "排入院會")
    assert best("status", []) is None


def test_unknown_source_ranks_last() -> None:
    assert rank("stages", "somewhere") > rank("stages", "opendata")
    assert best("title", [("somewhere", "x"), ("lis", "y")]) == ("lis", "y")
