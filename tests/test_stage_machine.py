"""The current-stage machine, one event at a time (unitedstates/congress' parse(action, previous)),
then the contradictions of the real samples through normalise.
"""

from __future__ import annotations

from datetime import date

import pytest

from billtracker.replay import ReplayData, load_replay
from pipelines.normalise.bill_record import normalise_bill
from pipelines.normalise.stage_machine import (
    SETTLED,
    Event,
    State,
    capture_stamp,
    chronological,
    current_stage,
    label,
    step,
    taipei_day,
    term_expired,
    upgrade_first_readings,
)
from scrapers.items import BillItem, Provenance
from scrapers.stages import SLUGS

TODAY = date(2026, 11, 26)
FRESH = "2026-11-26T01:00:00Z"  # a capture after term 9 ended, as live LYAPI's records are


def ev(seq: int, slug: str, on: str | None = "2016-10-14", session: str = "") -> Event:
    return Event(seq, slug, on, session)


# --- step(): one transition at a time -------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "slug", "after"),
    [
        (None, "filed", "filed"),
        ("filed", "scheduled", "scheduled"),
        ("scheduled", "first-reading", "first-reading"),
        ("scheduled", "returned", "returned"),
        ("returned", "scheduled", "scheduled"),
        ("scheduled", "deferred", "deferred"),
        ("first-reading", "referred", "referred"),
        ("referred", "re-referred", "re-referred"),
        ("referred", "committee-listed", "committee-listed"),
        ("committee-listed", "committee-review", "committee-review"),
        ("committee-review", "committee-reported", "committee-reported"),
        ("referred", "direct-second-reading", "direct-second-reading"),
        ("committee-reported", "negotiation", "negotiation"),
        ("negotiation", "second-reading", "second-reading"),
        ("second-reading", "third-reading", "third-reading"),
        ("third-reading", "promulgated", "promulgated"),
        ("scheduled", "withdrawn", "withdrawn"),
        ("scheduled", "rejected", "rejected"),
        ("scheduled", "noted", "noted"),
        ("noted", "referred", "referred"),  # 1060223070200100: 交付查照 then 交付審查
    ],
)
def test_step_transition(before: str | None, slug: str, after: str) -> None:
    previous = State(before, "2016-10-01", False, (before,) if before else ())
    state = step(previous, ev(1, slug, "2016-10-14"))
    assert state.slug == after
    assert state.on == "2016-10-14"
    assert state.history[-1] == slug and not state.derived


ALL_SLUGS = sorted(SLUGS - {"unknown", "filed", "expired"})


@pytest.mark.parametrize("passed", ["third-reading", "promulgated"])
@pytest.mark.parametrize("later", ALL_SLUGS)
def test_only_reconsideration_or_promulgation_moves_a_passed_bill(passed: str, later: str) -> None:
    """1050226070202600's 委員會發文 after its 三讀, 1050411070201900's 逕付二讀 and 排入院會 after
    its 三讀: stored and seen, but they do not un-pass the bill."""
    state = step(State(passed, "2016-11-18", False, (passed,), 3), ev(4, later, "2017-05-09"))
    moved = passed == "third-reading" and later in {"reconsideration", "promulgated"}
    assert (state.slug, state.on, state.seq) == (
        (later, "2017-05-09", 4) if moved else (passed, "2016-11-18", 3)
    )
    assert state.history == (passed, later)  # recorded either way


@pytest.mark.parametrize("let_go", ["withdrawn", "rejected"])
@pytest.mark.parametrize("later", ALL_SLUGS)
def test_a_later_plenary_entry_moves_a_withdrawn_or_rejected_bill(let_go: str, later: str) -> None:
    """The later entry wins, except a committee's paperwork about a bill the plenary let go
    (1050202070100200: 委員會發文 five months after 撤案)."""
    state = step(State(let_go, "2016-11-18", False, (let_go,), 3), ev(4, later, "2017-05-09"))
    committee = later in {"committee-listed", "committee-review", "committee-reported"}
    assert (state.slug, state.seq) == ((let_go, 3) if committee else (later, 4))
    assert state.history == (let_go, later)


def test_withdrawal_after_not_considered_the_same_day_is_withdrawn() -> None:
    """1100331070200100 (10th term): 排入院會, then on 2021-04-23 不予審議 and, listed after it,
    撤案. Rejected used to be final and the 撤案 was ignored."""
    events = [
        ev(1, "scheduled", "2021-04-23"),
        ev(2, "rejected", "2021-04-23"),
        ev(3, "withdrawn", "2021-04-23"),
    ]
    state = step(step(step(State(), events[0]), events[1]), events[2])
    assert (state.slug, state.on, state.seq) == ("withdrawn", "2021-04-23", 3)
    assert current_stage(events, 10, TODAY, FRESH).slug == "withdrawn"  # settled: no expiry
    # within a day the upstream order decides, whichever way round the record has them
    swapped = [events[0], ev(2, "withdrawn", "2021-04-23"), ev(3, "rejected", "2021-04-23")]
    assert current_stage(swapped, 10, TODAY, FRESH).slug == "rejected"


def test_an_undated_withdrawal_holds_against_the_dated_entries_listed_after_it() -> None:
    """1050216070200300: misq lists its undated 撤案 first, before the 2016-02-19 交付審查 and
    排入院會(交內政委員會): nothing is known to come after the withdrawal."""
    withdrawn = State("withdrawn", None, False, ("withdrawn",), 1)
    assert step(withdrawn, ev(2, "referred", "2016-02-19")).slug == "withdrawn"
    assert step(withdrawn, ev(3, "first-reading", "2016-02-19")).slug == "withdrawn"


def test_a_reconsideration_of_not_considered_lapses_back_to_it_at_term_end() -> None:
    events = [ev(1, "rejected", "2016-12-23"), ev(2, "reconsideration", "2016-12-30")]
    assert current_stage(events, 9, date(2017, 1, 1)).slug == "reconsideration"
    assert current_stage(events, 9, TODAY, FRESH).slug == "rejected"


def test_reconsideration_after_third_reading_moves_the_state() -> None:
    passed = step(State(), ev(1, "third-reading", "2016-11-18"))
    state = step(passed, ev(2, "reconsideration", "2016-11-25"))
    assert (state.slug, state.on) == ("reconsideration", "2016-11-25")
    # and the plenary can vote again after a successful motion
    assert step(state, ev(3, "third-reading", "2016-12-02")).slug == "third-reading"


def test_unknown_never_moves_a_recognised_state() -> None:
    referred = step(State(), ev(1, "referred"))
    assert step(referred, ev(2, "unknown", "2020-01-01")) == referred


def test_a_bill_with_only_unknown_entries_is_unknown() -> None:
    state = step(State(), ev(1, "unknown", "2026-05-22"))
    assert (state.slug, state.on, state.seq, state.history) == ("unknown", "2026-05-22", 1, ("unknown",))
    later = step(state, ev(2, "unknown", "2026-05-29"))
    assert (later.slug, later.on, later.seq) == ("unknown", "2026-05-29", 2)  # the later entry
    assert step(later, ev(3, "referred", "2026-06-01")).slug == "referred"  # a known one moves it


def test_an_unknown_bill_of_an_ended_term_is_not_derived_expired() -> None:
    """Nothing in its record was recognised, so nothing shows it did not pass."""
    state = current_stage([ev(1, "unknown", "2016-05-20")], 9, TODAY, FRESH)
    assert (state.slug, state.derived, state.stale_since) == ("unknown", False, None)
    stale = current_stage([ev(1, "unknown", "2016-05-20")], 9, TODAY, "2018-10-31T16:00:00Z")
    assert (stale.slug, stale.stale_since) == ("unknown", "2018-11-01")


def test_an_event_without_a_date_leaves_the_state_undated() -> None:
    """1050307070200500's 審查完畢(逾審查期限) has no date: the stage is shown undated, never with
    the date of the stage before it (issue 10: 231 bills showed another stage's date)."""
    state = step(State("referred", "2016-03-11"), ev(2, "committee-reported", None))
    assert (state.slug, state.on, state.seq) == ("committee-reported", None, 2)


# --- ordering ------------------------------------------------------------------------------


def test_chronological_sorts_by_date_then_upstream_order() -> None:
    events = [
        ev(1, "referred", "2016-02-19"),
        ev(2, "first-reading", "2016-02-19"),
        ev(3, "filed", "2016-02-17"),
    ]
    assert [e.seq for e in chronological(events)] == [3, 1, 2]


def test_chronological_keeps_an_undated_entry_in_place() -> None:
    events = [
        ev(1, "scheduled", "2016-03-11"),
        ev(2, "committee-reported", None),  # 1050307070200500's 審查完畢(逾審查期限)
        ev(3, "committee-review", "2016-12-22"),
        ev(4, "referred", "2016-03-11"),
    ]
    assert [e.seq for e in chronological(events)] == [1, 2, 4, 3]


def test_an_undated_first_entry_sorts_first() -> None:
    events = [ev(1, "committee-reported", None), ev(2, "scheduled", "2016-03-11")]
    assert [e.seq for e in chronological(events)] == [1, 2]


# --- re-classing -----------------------------------------------------------------------------


def test_upgrade_first_readings_at_the_same_sitting() -> None:
    events = [
        ev(1, "scheduled", session="09-04-14"),
        ev(2, "referred", session="09-04-14"),
        ev(3, "scheduled", session="09-04-15"),  # no referral at its sitting
        ev(4, "scheduled", session=""),  # no sitting to compare
        ev(5, "referred", session=""),
    ]
    assert upgrade_first_readings(events) == {1: "first-reading"}


def test_a_referral_at_another_sitting_is_no_first_reading() -> None:
    events = [ev(1, "scheduled", session="09-01-17"), ev(2, "referred", session="09-01-18")]
    assert upgrade_first_readings(events) == {}


# --- current_stage and expiry ----------------------------------------------------------------


def test_term_9_ended_so_an_open_bill_expired() -> None:
    state = current_stage([ev(1, "first-reading"), ev(2, "referred")], 9, TODAY, FRESH)
    assert (state.slug, state.on, state.derived) == ("expired", "2020-01-31", True)
    assert state.history == ("first-reading", "referred", "expired")


@pytest.mark.parametrize("as_of", ["2018-10-31T16:00:00Z", "2020-01-31T15:59:59Z", None])
def test_no_expiry_from_data_captured_before_the_term_ended(as_of: str | None) -> None:
    """ly-term9 was captured 2018-11-01: it cannot show the bill did not pass in 2019. (The
    second: 23:59:59 on 2020-01-31 in Taipei is still the term's last day.)"""
    state = current_stage([ev(1, "first-reading"), ev(2, "referred", "2016-10-18")], 9, TODAY, as_of)
    assert (state.slug, state.on, state.derived) == ("referred", "2016-10-18", False)
    assert state.stale_since == (taipei_day(as_of) if as_of else "")


def test_capture_stamps_are_utc_and_days_are_taipei_days() -> None:
    assert capture_stamp("2018-11-01T00:00:00+08:00") == "2018-10-31T16:00:00Z"
    assert capture_stamp("2026-05-12 21:18:17") == "2026-05-12T13:18:17Z"  # no offset: Taipei time
    assert capture_stamp("") is None and capture_stamp("yesterday") is None
    assert taipei_day("2020-01-31T16:00:00Z") == "2020-02-01"


def test_term_9_not_yet_over_on_its_last_day() -> None:
    assert term_expired(9, date(2020, 1, 31)) is None
    assert term_expired(9, date(2020, 2, 1)) == "2020-01-31"


def test_term_11_is_not_expired_today() -> None:
    state = current_stage([ev(1, "scheduled", "2026-05-15")], 11, TODAY)
    assert (state.slug, state.derived) == ("scheduled", False)


def test_unknown_term_never_expires() -> None:
    assert current_stage([ev(1, "referred")], None, TODAY).slug == "referred"
    assert current_stage([ev(1, "referred")], 99, TODAY).slug == "referred"


@pytest.mark.parametrize("settled", sorted(SETTLED))
def test_settled_bills_do_not_expire(settled: str) -> None:
    state = current_stage([ev(1, "referred", "2016-03-04"), ev(2, settled, "2016-07-08")], 9, TODAY)
    assert (state.slug, state.on, state.derived) == (settled, "2016-07-08", False)


def test_a_pending_reconsideration_of_a_passed_bill_lapses_at_term_end() -> None:
    """復議 still pending when the term ends lapses; the third reading it challenged stands."""
    events = [ev(1, "third-reading", "2016-11-18"), ev(2, "reconsideration", "2016-11-25")]
    state = current_stage(events, 9, TODAY)
    assert (state.slug, state.on, state.derived) == ("third-reading", "2016-11-18", False)
    assert state.history == ("third-reading", "reconsideration")
    # while the term runs, the motion is where the bill is
    assert current_stage(events, 9, date(2017, 1, 1)).slug == "reconsideration"


def test_label() -> None:
    assert label("expired") == "屆期不續審" and label(None) == "" and label("nope") == ""
    assert all(label(slug) for slug in SLUGS)


# --- the real samples' contradictions, through normalise --------------------------------------


@pytest.fixture(scope="module")
def replay_data(samples_dir) -> ReplayData:  # type: ignore[no-untyped-def]
    return load_replay(samples_dir)


def normalised(replay_data: ReplayData, bill_no: str):  # type: ignore[no-untyped-def]
    """The sample record as if captured after term 9 ended (資料抓取時間 FRESH)."""
    prov = Provenance(f"http://replay/v2/bills/{bill_no}", "2026-11-26T00:00:00Z", "0" * 64, "test")
    record = {**replay_data.bills[bill_no], "資料抓取時間": FRESH}
    return normalise_bill(BillItem(bill_no, record, prov), TODAY)


def test_withdrawn_although_the_status_says_scheduled(replay_data: ReplayData) -> None:
    norm = normalised(replay_data, "1050202070100500")
    assert norm.bill["status_raw"] == "排入院會"
    assert (norm.bill["current_stage"], norm.bill["current_stage_on"]) == ("withdrawn", "2016-07-01")
    assert norm.bill["current_stage_derived"] == 0
    assert "expired" not in [s["stage"] for s in norm.stages]


def test_referred_although_the_status_says_scheduled(replay_data: ReplayData) -> None:
    norm = normalised(replay_data, "1061218070201500")
    assert norm.bill["status_raw"] == "排入院會"
    assert norm.bill["current_stage"] not in {"scheduled", None}
    history = [s["stage"] for s in sorted(norm.stages, key=lambda s: (s["order_on"], s["seq"]))]
    assert history == ["filed", "first-reading", "referred", "expired"]  # 9th term: it expired
    referred = next(s for s in norm.stages if s["stage"] == "referred")
    assert referred["committee"] == "司法及法制委員會"


def test_third_reading_although_the_status_says_reported(replay_data: ReplayData) -> None:
    norm = normalised(replay_data, "1050226070202600")
    assert norm.bill["status_raw"] == "審查完畢"
    assert (norm.bill["current_stage"], norm.bill["current_stage_on"]) == ("third-reading", "2017-01-05")
    # the committee's 委員會發文 four months later is stored, but moves nothing
    assert norm.stages[-1]["stage"] == "committee-reported" and norm.stages[-1]["on"] == "2017-05-09"


def test_scheduled_then_reconsideration_in_the_ninth_term_expired(replay_data: ReplayData) -> None:
    """1050608070200100 (勞動基準法第八十四條之一): 排入院會 at 09-01-17, then only 復議 at 09-01-18.

    Decision: current stage is `expired` (derived, 2020-01-31). A motion to reconsider is not a
    decision on the bill: no 三讀, 撤案 or 不予審議 precedes it, so nothing settled stands when the
    motion lapses with the term (職權行使法 §13). The 復議 row stays in the history.
    """
    norm = normalised(replay_data, "1050608070200100")
    assert norm.bill["status_raw"] == "復議"
    assert (norm.bill["current_stage"], norm.bill["current_stage_on"]) == ("expired", "2020-01-31")
    assert norm.bill["current_stage_derived"] == 1
    assert [s["stage"] for s in norm.stages] == ["filed", "scheduled", "reconsideration", "expired"]
    assert norm.stages[2]["status_raw"] == "復議" and norm.stages[2]["on"] == "2016-06-24"


def test_filing_after_the_flow_began_does_not_move_the_state() -> None:
    """1050226070202600: 提案日期 2017-01-05 (from its PDF) is after its first flow entry."""
    state = step(State("committee-review", "2016-03-04"), Event(0, "filed", "2017-01-05"))
    assert state.slug == "committee-review" and state.on == "2016-03-04"
    assert step(State(), Event(0, "filed", "2016-03-01")).slug == "filed"


def test_an_undated_event_sorts_by_its_order_day_but_stays_undated() -> None:
    """1050216070200300: 撤案 is listed with no date; it sorts where its inherited order day puts
    it, and the bill is withdrawn on no known day, not on the day of the filing before it."""
    events = [Event(0, "filed", "2016-02-25"), Event(1, "withdrawn", None, "", "2016-02-25")]
    events.append(Event(2, "referred", "2016-02-19"))
    state = current_stage(events, 9, TODAY, FRESH)
    assert (state.slug, state.on, state.seq) == ("withdrawn", None, 1)
