"""Published dates billtracker keeps but does not use as fact, and why (stages.date_doubt).

A date is doubted when it names no day (2016-00-00, PDFs' published_date), falls outside the
bill's term (1051226070100100's 提案日期 2014-02-15; 2962-12-16), or is a filing date after the
bill's own first reading (its first 議案流程 entry: a bill is filed before any sitting deals with
it). The raw text stays in `dates` (bills.filed_on_raw for 提案日期), `on` is NULL, and a
`doubtful-date` problem names what and where. Pure functions, so reconcile's ledger applies the
same rule to other sources' filing dates.
"""

from __future__ import annotations

from datetime import date, timedelta

from pipelines.normalise.dates import BadDate, parse_date
from pipelines.normalise.stage_machine import TERM_ENDS

PROBLEM_KIND = "doubtful-date"


def term_span(term: int | None) -> tuple[str, str] | None:
    """(first day, last day) of a term: it starts the day after the previous one ends."""
    if term is None or term not in TERM_ENDS or term - 1 not in TERM_ENDS:
        return None
    start = date.fromisoformat(TERM_ENDS[term - 1]) + timedelta(days=1)
    return start.isoformat(), TERM_ENDS[term]


def outside_term(day: str, term: int | None) -> str | None:
    """Why `day` cannot be a date of a bill of `term`, or None."""
    span = term_span(term)
    if span and not span[0] <= day <= span[1]:
        return f"outside term {term} ({span[0]}..{span[1]})"
    return None


def read_date(raw: object, term: int | None) -> tuple[str | None, str | None]:
    """(ISO day to use, doubt): (None, None) for an empty value, (None, why) for a doubted one."""
    text = str(raw).strip() if raw is not None else ""
    try:
        day = parse_date(text)
    except BadDate:
        return None, f"impossible date {text}"
    if day is None:
        return None, None
    doubt = outside_term(day, term)
    return (None, doubt) if doubt else (day, None)


def filed_after_first_reading(filed_on: str | None, first_reading_on: str | None) -> str | None:
    """Why a filing date cannot be: it falls after the bill's first reading."""
    if filed_on and first_reading_on and filed_on > first_reading_on:
        return f"after the first reading on {first_reading_on}"
    return None


def filing_doubt(raw: object, term: int | None, first_reading_on: str | None) -> str | None:
    """Every reason a published filing date is not used as fact, or None when it is sound."""
    day, doubt = read_date(raw, term)
    return doubt or filed_after_first_reading(day, first_reading_on)
