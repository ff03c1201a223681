"""A bill's current stage as a small state machine over its dated 議案流程 entries.

Never copied from the top-level 議案狀態, which contradicts the flow it sits on:
- 1050202070100500: 議案狀態 says 排入院會, the flow ends 撤案 -> withdrawn.
- 1061218070201500: 議案狀態 says 排入院會, the flow has 交付審查 -> referred.
- 1050226070202600: 議案狀態 says 審查完畢, the flow has 三讀 -> third-reading.

Like unitedstates/congress' ``parse(action, previous)``, :func:`step` takes one event and the
previous state and is tested one event at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from scrapers.stages import LABELS, TERMINAL

# 立法院職權行使法 §13: bills not passed by the end of a term are not carried over.
TERM_ENDS: dict[int, str] = {
    1: "1993-01-31",
    2: "1996-01-31",
    3: "1999-01-31",
    4: "2002-01-31",
    5: "2005-01-31",
    6: "2008-01-31",
    7: "2012-01-31",
    8: "2016-01-31",
    9: "2020-01-31",
    10: "2024-01-31",
    11: "2028-01-31",
}

# A stage that ends a bill's journey; expiry does not apply after these.
SETTLED: frozenset[str] = TERMINAL | {"noted"}


@dataclass(frozen=True)
class Event:
    """One stage event: the slug from scrapers.stages plus what orders it."""

    seq: int
    slug: str
    on: str | None  # ISO day; None when upstream left the date empty
    session_code: str = ""


@dataclass(frozen=True)
class State:
    slug: str | None = None
    on: str | None = None
    derived: bool = False
    history: tuple[str, ...] = field(default_factory=tuple)


def step(previous: State, event: Event) -> State:
    """Apply one event. Unknown text never moves the state (it is counted elsewhere); after a
    terminal stage only reconsideration or promulgation may follow."""
    if event.slug == "unknown":
        return previous
    if event.slug == "filed" and previous.slug is not None:
        # Filing only starts a journey: 1050226070202600's 提案日期 (2017-01-05, from its PDF)
        # falls after its flow had begun, and must not send a passed bill back to "filed".
        return replace(previous, history=previous.history + (event.slug,))
    if previous.slug in TERMINAL and event.slug not in {"reconsideration", "promulgated"}:
        return replace(previous, history=previous.history + (event.slug,))
    return State(event.slug, event.on or previous.on, False, previous.history + (event.slug,))


def chronological(events: list[Event]) -> list[Event]:
    """Date order, upstream order among equals; an entry with an empty date keeps its place by
    inheriting the date before it (1050307070200500's 審查完畢(逾審查期限) has no date)."""
    keyed = []
    last_on = ""
    for event in sorted(events, key=lambda e: e.seq):
        last_on = event.on or last_on
        keyed.append((last_on, event.seq, event))
    return [event for _, _, event in sorted(keyed, key=lambda k: (k[0], k[1]))]


def upgrade_first_readings(events: list[Event]) -> dict[int, str]:
    """A plain 排入院會 followed at the same sitting by 交付審查 was the first reading
    (1061218070201500). Returns {seq: new slug} for the entries to re-class."""
    changes: dict[int, str] = {}
    for i, event in enumerate(events):
        if event.slug != "scheduled" or not event.session_code:
            continue
        for later in events[i + 1 :]:
            if later.session_code == event.session_code and later.slug == "referred":
                changes[event.seq] = "first-reading"
                break
    return changes


def term_expired(term: int | None, today: date) -> str | None:
    """The term's last day if the term is over, else None."""
    if term is None or term not in TERM_ENDS:
        return None
    end = TERM_ENDS[term]
    return end if today.isoformat() > end else None


def current_stage(events: list[Event], term: int | None, today: date) -> State:
    """Run the machine over the events, then derive expiry for a finished term."""
    state = State()
    settled: State | None = None
    for event in chronological(events):
        state = step(state, event)
        if state.slug in SETTLED:
            settled = state
    end = term_expired(term, today)
    if end and state.slug == "reconsideration" and settled is not None:
        # A motion to reconsider still pending when the term ends lapses; the decision it
        # challenged (三讀, 撤案, ...) stands. Expiry would wrongly undo a passed bill.
        return replace(settled, history=state.history)
    if end and state.slug not in SETTLED:
        return State("expired", end, True, state.history + ("expired",))
    return state


def label(slug: str | None) -> str:
    return LABELS.get(slug or "", "")
