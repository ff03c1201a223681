"""Dates as the Legislative Yuan's systems publish them -> ISO calendar days (year + 1911)."""

from __future__ import annotations

import pytest

from pipelines.normalise.dates import BadDate, parse_date


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2016-10-14", "2016-10-14"),  # LYAPI / misq ISO
        ("2016-1-4", "2016-01-04"),
        ("105/11/11", "2016-11-11"),  # ROC with slashes
        ("1051111", "2016-11-11"),  # ROC packed (lis, twly 提案日期)
        ("990101", "2010-01-01"),  # a two-digit ROC year
        ("105年11月11日", "2016-11-11"),  # ROC in words
        ("105.3.9", "2016-03-09"),
        (" 1060322 ", "2017-03-22"),  # padding from a fixed-width column
        ("1090229", "2020-02-29"),  # a leap day exists in ROC 109
    ],
)
def test_parse(raw: str, iso: str) -> None:
    assert parse_date(raw) == iso


@pytest.mark.parametrize("empty", ["", "   ", None])
def test_empty_is_none(empty: str | None) -> None:
    assert parse_date(empty) is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("1050230", "no such day"),  # 30 February 2016
        ("99999", "not a date"),
        ("1061329", "no such day"),
        ("2016/10/14/1", "not a date"),
        ("民國105年", "not a date"),
    ],
)
def test_bad_dates_name_the_value(raw: str, why: str) -> None:
    with pytest.raises(BadDate) as caught:
        parse_date(raw)
    assert why in str(caught.value)
    assert repr(raw) in str(caught.value)


def test_bad_date_is_a_value_error() -> None:
    """Callers that catch ValueError (as normalise does for one field) keep working."""
    assert issubclass(BadDate, ValueError)
