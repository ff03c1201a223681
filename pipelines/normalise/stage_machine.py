"""A bill's current stage as a small state machine over its dated 議案流程 entries.

Never copied from the top-level 議案狀態, which contradicts the flow it sits on:
- 1050202070100500: 議案狀態 says 排入院會, the flow ends 撤案 -> withdrawn.
- 1061218070201500: 議案狀態 says 排入院會, the flow has 交付審查 -> referred.
- 1050226070202600: 議案狀態 says 審查完畢, the flow has 三讀 -> third-reading.

Like unitedstates/congress' ``parse(action, previous)``, :func:`step` takes one event and the
previous state and is tested one event at a time. Events are applied in the record's order (date,
then upstream order within a day) and the later entry wins; :func:`moves` names the few it must
not: nothing un-passes a passed bill but 復議, and committee paperwork does not revive a bill the
plenary withdrew or rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

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

TAIPEI = ZoneInfo("Asia/Taipei")

# A stage that ends a bill's journey; expiry does not apply after these.
SETTLED: frozenset[str] = TERMINAL | {"noted"}


@dataclass(frozen=True)
class Event:
    """One stage event: the slug from scrapers.stages plus what orders it."""

    seq: int
    slug: str
    on: str | None  # ISO day; None when upstream left the date empty
    session_code: str = ""
    # The day it sorts on when `on` is empty (the stored order_on: the date before it in the
    # flow). Only for ordering: a state set by an undated event stays undated.
    order_on: str | None = None


@dataclass(frozen=True)
class State:
    slug: str | None = None
    on: str | None = None  # the date of the event that set the state; None when it had none
    derived: bool = False
    history: tuple[str, ...] = field(default_factory=tuple)
    seq: int | None = None  # the event that set the state (its evidence is that row's)
    # The term is over but the newest record predates its end: the state is "as of" that
    # record, and expiry is not derived (the bill may have passed after the capture).
    stale_since: str | None = None


# A pass is undone only by a motion to reconsider, and promulgation follows it; nothing undoes a
# promulgation. Any other later entry of a passed bill is paperwork (1050226070202600's 委員會發文
# four months after 三讀) or the flow of the bills reviewed with it (1050411070201900's 逕付二讀 and
# 排入院會 after its 三讀 of 2016-07-22): recorded in the history, it never un-passes the bill.
PASS_EXITS: dict[str, frozenset[str]] = {
    "third-reading": frozenset({"reconsideration", "promulgated"}),
    "promulgated": frozenset(),
}
# The plenary let these bills go, but a later plenary or procedure entry is a real move
# (1100331070200100: 不予審議 then 撤案 the same day is withdrawn).
LET_GO: frozenset[str] = frozenset({"withdrawn", "rejected"})
# Committees keep listing and writing about a bill the plenary let go: 委員會發文 five months after
# 撤案 (1050202070100200, twelve such bills in ly-term9), 繼續審查 after 撤案 (1050408070100200),
# 委員會發文 after 不予審議 (1051026070200300). Such an entry does not revive it.
COMMITTEE_SIDE: frozenset[str] = frozenset({"committee-listed", "committee-review", "committee-reported"})


def moves(previous: State, slug: str) -> bool:
    """Whether a recognised entry after `previous` changes the stage: the later entry wins unless
    it would un-pass a bill, or revive a let-go bill by committee paperwork or out of an undated
    decision (misq lists undated entries first: 1050216070200300's 撤案 precedes its 2016-02-19
    交付審查 only because it has no date, so nothing is known to come after it)."""
    if previous.slug in PASS_EXITS:
        return slug in PASS_EXITS[previous.slug]
    if previous.slug in LET_GO:
        return previous.on is not None and slug not in COMMITTEE_SIDE
    return True


def step(previous: State, event: Event) -> State:
    """Apply one event, in the record's order. Unknown text never moves a recognised state (it
    is counted elsewhere), but a bill with nothing recognised is `unknown`, not stageless."""
    history = previous.history + (event.slug,)
    if event.slug == "unknown":
        if previous.slug in (None, "unknown"):
            return State("unknown", event.on, False, history, event.seq)
        return previous
    if event.slug == "filed" and previous.slug is not None:
        # Filing only starts a journey: 1050226070202600's 提案日期 (2017-01-05, from its PDF)
        # falls after its flow had begun, and must not send a passed bill back to "filed".
        return replace(previous, history=history)
    if not moves(previous, event.slug):
        return replace(previous, history=history)
    # An undated event leaves the state undated: a date borrowed from the stage before would
    # show a reader a day nothing happened on (issue 10: 231 bills showed another stage's date).
    return State(event.slug, event.on, False, history, event.seq)


def chronological(events: list[Event]) -> list[Event]:
    """Date order, upstream order among equals; an entry with an empty date keeps its place by
    inheriting the date before it (1050307070200500's 審查完畢(逾審查期限) has no date)."""
    keyed = []
    last_on = ""
    for event in sorted(events, key=lambda e: e.seq):
        last_on = event.on or event.order_on or last_on
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


def captured_after(as_of: str | None, end: str) -> bool:
    """True when a capture time (ISO, any offset) falls on a Taipei day after `end`."""
    return bool(as_of) and taipei_day(as_of) > end


def taipei_day(stamp: str) -> str:
    """The Asia/Taipei calendar day of an ISO timestamp (a bare day is taken as it is)."""
    if len(stamp) == 10:
        return stamp
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TAIPEI).date().isoformat()


def current_stage(events: list[Event], term: int | None, today: date, as_of: str | None = None) -> State:
    """Run the machine over the events, then derive expiry for a finished term -- only when the
    newest record of the bill (`as_of`) was captured after the term ended. Records captured
    earlier (ly-term9: 2018-11-01, fourteen months before term 9 ended) cannot show what
    happened later: the bill keeps its last stage, `stale_since` the capture."""
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
        if not captured_after(as_of, end):
            return replace(state, stale_since=taipei_day(as_of) if as_of else "")
        if state.slug == "unknown":
            # Nothing in the record was recognised, so nothing shows it did not pass: no expiry.
            return state
        return State("expired", end, True, state.history + ("expired",))
    return state


def unknown_caveat(raw: str | None, on: str | None) -> str:
    """What the page and the API say beside `unknown`: the raw text the stage rests on."""
    return (
        f"{LABELS['unknown']}: no rule of the stage vocabulary recognises 「{(raw or '').strip()}」 "
        f"({on or 'undated'}), and no entry of this bill names a known stage: no stage, and no "
        "expiry, is derived from it"
    )


def expiry_evidence(term: int | None, end: str, as_of: str) -> str:
    """What a derived expiry rests on: the term's end and a record captured after it."""
    return (
        f"term {term} ended {end}; the newest record of this bill, captured {taipei_day(as_of)}, "
        "shows no third reading (立法院職權行使法 §13)"
    )


def stale_caveat(term: int | None, state: State) -> str:
    """What the page and the API say beside a stage the data is too old to settle."""
    end = TERM_ENDS.get(term or 0, "")
    if not state.stale_since:
        return f"term {term} ended {end}; no record of this bill says when it was captured: no expiry"
    return (
        f"as of {state.stale_since}: the newest record of this bill predates the end of term {term} "
        f"({end}); whether it passed after {state.stale_since} is not in the data"
    )


def capture_stamp(raw: str | None) -> str | None:
    """A capture time (LYAPI 資料抓取時間 "2026-05-12T21:18:17+08:00", a fetch time) as UTC
    ISO 8601, None when empty or unreadable."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TAIPEI)  # LY's systems publish Taipei time
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def label(slug: str | None) -> str:
    return LABELS.get(slug or "", "")
