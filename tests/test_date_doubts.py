"""pipelines/normalise/date_doubts.py: which published dates are kept raw, not used, and why."""

from __future__ import annotations

import pytest

from pipelines.normalise.date_doubts import (
    filed_after_first_reading,
    filing_doubt,
    outside_term,
    read_date,
    term_span,
)


def test_a_term_starts_the_day_after_the_previous_one_ends() -> None:
    assert term_span(9) == ("2016-02-01", "2020-01-31")
    assert term_span(None) is None and term_span(99) is None


@pytest.mark.parametrize(
    ("day", "inside"), [("2016-02-01", True), ("2020-01-31", True), ("2016-01-31", False)]
)
def test_outside_term_at_its_edges(day: str, inside: bool) -> None:
    assert (outside_term(day, 9) is None) is inside


@pytest.mark.parametrize(
    ("raw", "result"),
    [
        ("2016-10-12", ("2016-10-12", None)),
        ("105/10/12", ("2016-10-12", None)),
        ("", (None, None)),
        (None, (None, None)),
        ("2016-00-00", (None, "impossible date 2016-00-00")),
        ("2962-12-16", (None, "outside term 9 (2016-02-01..2020-01-31)")),
        ("2014-02-15", (None, "outside term 9 (2016-02-01..2020-01-31)")),
    ],
)
def test_read_date(raw: str | None, result: tuple[str | None, str | None]) -> None:
    assert read_date(raw, 9) == result


def test_an_unknown_term_checks_no_span() -> None:
    assert read_date("2014-02-15", None) == ("2014-02-15", None)


def test_filed_after_first_reading() -> None:
    assert filed_after_first_reading("2016-04-30", "2016-04-29") == "after the first reading on 2016-04-29"
    assert filed_after_first_reading("2016-04-29", "2016-04-29") is None  # filed and read the same day
    assert filed_after_first_reading("2016-04-30", None) is None


def test_filing_doubt_gives_the_first_reason() -> None:
    assert filing_doubt("2017-00-00", 9, "2016-04-29") == "impossible date 2017-00-00"
    assert filing_doubt("2016-05-02", 9, "2016-04-29") == "after the first reading on 2016-04-29"
    assert filing_doubt("2016-04-01", 9, "2016-04-29") is None
