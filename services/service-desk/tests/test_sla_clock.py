"""SLA targets and the clock state machine, table-driven with fixed moments (no sleeping, no
real now): which rule wins, every transition, every refusal, every status."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crm_platform.errors import Conflict
from crm_service_desk.domain.calendars import BusinessCalendar, CalendarKind
from crm_service_desk.domain.enums import Priority, TicketType
from crm_service_desk.domain.sla import (
    DEFAULT_TARGETS,
    ClockKind,
    ClockOutcome,
    ClockState,
    ClockStatus,
    IllegalClockTransition,
    SlaTarget,
    clock_view,
    pause_clock,
    resume_clock,
    retarget,
    start_clock,
    stop_clock,
    targets_for,
)

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
ALWAYS = BusinessCalendar(CalendarKind.ALWAYS)
WEEKLY = BusinessCalendar(CalendarKind.WEEKLY)  # Mon-Fri 09:00-18:00, Asia/Shanghai
A, F, R = ClockKind.ASSIGN, ClockKind.FIRST_RESPONSE, ClockKind.RESOLVE


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


MON_9 = sh(2026, 11, 30, 9)  # a Monday

# ------------------------------------------------------------------------------ targets

# (priority, ticket type, expected targets)
TARGET_CASES = [
    (None, None, {A: H, F: 4 * H, R: 72 * H}),
    (Priority.HIGH, TicketType.CONSULTATION, {A: 15 * MIN, F: H, R: 24 * H}),
    (Priority.MEDIUM, TicketType.TECH_SUPPORT, {A: H, F: 4 * H, R: 72 * H}),
    (Priority.LOW, TicketType.SUGGESTION, {A: H, F: 8 * H, R: 120 * H}),
    (Priority.MEDIUM, TicketType.REPAIR, {A: H, F: 4 * H, R: 72 * H}),
    (Priority.HIGH, TicketType.VISIT, {A: 15 * MIN, F: H, R: 24 * H}),
    # A complaint's own row wins over its priority's, whatever that is.
    (Priority.HIGH, TicketType.COMPLAINT, {A: 10 * MIN, F: 30 * MIN, R: 24 * H}),
    (Priority.LOW, TicketType.COMPLAINT, {A: 10 * MIN, F: 30 * MIN, R: 24 * H}),
]


@pytest.mark.parametrize(("priority", "ticket_type", "expected"), TARGET_CASES)
def test_default_targets(priority, ticket_type, expected) -> None:
    assert targets_for(DEFAULT_TARGETS, priority, ticket_type) == expected


CUSTOM = [
    SlaTarget(None, None, H, 2 * H, 10 * H),
    SlaTarget(Priority.HIGH, None, 5 * MIN, None, 4 * H),
    SlaTarget(None, TicketType.TECH_SUPPORT, None, 3 * H, 8 * H),
    SlaTarget(Priority.HIGH, TicketType.TECH_SUPPORT, None, None, 6 * H),
]


@pytest.mark.parametrize(
    ("priority", "ticket_type", "expected"),
    [
        (Priority.LOW, TicketType.CONSULTATION, {A: H, F: 2 * H, R: 10 * H}),  # default only
        (Priority.HIGH, TicketType.CONSULTATION, {A: 5 * MIN, F: 2 * H, R: 4 * H}),  # priority
        (Priority.LOW, TicketType.TECH_SUPPORT, {A: H, F: 3 * H, R: 8 * H}),  # type
        # type+priority > type > priority > default, clock by clock
        (Priority.HIGH, TicketType.TECH_SUPPORT, {A: 5 * MIN, F: 3 * H, R: 6 * H}),
    ],
)
def test_the_most_specific_rule_wins_per_clock(priority, ticket_type, expected) -> None:
    assert targets_for(CUSTOM, priority, ticket_type) == expected
    assert targets_for(reversed(CUSTOM), priority, ticket_type) == expected


def test_a_clock_no_rule_sets_does_not_run() -> None:
    only_resolve = [SlaTarget(None, None, None, None, 8 * H)]
    assert targets_for(only_resolve, Priority.HIGH, TicketType.COMPLAINT) == {R: 8 * H}
    assert targets_for([], Priority.HIGH, None) == {}


# ------------------------------------------------------------------------------ transitions


def test_start_sets_due_and_warn_moments_in_business_time() -> None:
    friday = sh(2026, 11, 27, 17, 30)
    clock = start_clock(R, 10 * H, friday, WEEKLY)
    # 30 min Friday, 9 h Monday, 30 min Tuesday; warning at 8 h: Monday 16:30.
    assert clock.due_at == sh(2026, 12, 1, 9, 30)
    assert clock.warn_at == sh(2026, 11, 30, 16, 30)
    assert (clock.paused_at, clock.stopped_at, clock.outcome) == (None, None, None)


def test_the_warning_share_is_configurable() -> None:
    clock = start_clock(A, 10 * MIN, MON_9, ALWAYS, warn_ratio=0.5)
    assert clock.warn_at == MON_9 + 5 * MIN


@pytest.mark.parametrize("ratio", [0, -0.1, 1.5])
def test_a_warning_share_outside_the_target_is_refused(ratio) -> None:
    with pytest.raises(ValueError):
        start_clock(A, 10 * MIN, MON_9, ALWAYS, warn_ratio=ratio)


def _apply(clock: ClockState, step: tuple, calendar: BusinessCalendar) -> ClockState:
    action, *args = step
    if action == "pause":
        return pause_clock(clock, args[0], calendar)
    if action == "resume":
        return resume_clock(clock, args[0], calendar)
    if action == "stop":
        return stop_clock(clock, args[0])
    assert action == "retarget"
    return retarget(clock, args[0], args[1], calendar)


T0 = datetime(2026, 11, 30, 1, tzinfo=UTC)


def t(minutes: int) -> datetime:
    return T0 + minutes * MIN


# A 60-minute clock on a 24x7 calendar started at T0 (warning at 48 min):
# (steps, due_at, warn_at, paused, outcome)
TRANSITIONS = [
    ([], t(60), t(48), False, None),
    ([("stop", t(30))], t(60), t(48), False, ClockOutcome.MET),
    ([("stop", t(60))], t(60), t(48), False, ClockOutcome.MET),  # on the due moment: met
    ([("stop", t(61))], t(60), t(48), False, ClockOutcome.BREACHED),
    ([("pause", t(10))], t(60), t(48), True, None),
    # 50 min left when paused for 30: everything moves on by 30 min.
    ([("pause", t(10)), ("resume", t(40))], t(90), t(78), False, None),
    ([("pause", t(10)), ("resume", t(40)), ("stop", t(85))], t(90), t(78), False, "met"),
    ([("pause", t(10)), ("resume", t(40)), ("stop", t(95))], t(90), t(78), False, "breached"),
    # Paused after the warning: warn stays, due moves on.
    ([("pause", t(50)), ("resume", t(70))], t(80), t(48), False, None),
    # Paused after the due moment: a breach is not undone by waiting on the customer.
    ([("pause", t(70)), ("resume", t(100))], t(60), t(48), False, None),
    ([("pause", t(70)), ("resume", t(100)), ("stop", t(101))], t(60), t(48), False, "breached"),
    # Stopped while paused: judged at the pause.
    ([("pause", t(30)), ("stop", t(500))], t(60), t(48), True, ClockOutcome.MET),
    ([("pause", t(70)), ("stop", t(500))], t(60), t(48), True, ClockOutcome.BREACHED),
    # Retarget counts from the original start (plus time spent paused).
    ([("retarget", 2 * H, t(20))], t(120), t(96), False, None),
    ([("retarget", 30 * MIN, t(20))], t(30), t(24), False, None),
    (
        [("pause", t(10)), ("resume", t(40)), ("retarget", 2 * H, t(50))],
        t(150),
        t(126),
        False,
        None,
    ),
    ([("pause", t(10)), ("retarget", 2 * H, t(20))], t(120), t(96), True, None),
    (
        [("pause", t(10)), ("retarget", 2 * H, t(20)), ("resume", t(30))],
        t(140),
        t(116),
        False,
        None,
    ),
    ([("retarget", 30 * MIN, t(40)), ("stop", t(41))], t(30), t(24), False, "breached"),
]


@pytest.mark.parametrize(("steps", "due_at", "warn_at", "paused", "outcome"), TRANSITIONS)
def test_transitions(steps, due_at, warn_at, paused, outcome) -> None:
    clock = start_clock(R, H, T0, ALWAYS)
    for step in steps:
        clock = _apply(clock, step, ALWAYS)
    assert (clock.due_at, clock.warn_at) == (due_at, warn_at)
    assert (clock.paused_at is not None) is paused
    assert clock.outcome == (ClockOutcome(outcome) if outcome else None)


def test_pause_remembers_business_time_and_resume_counts_from_it() -> None:
    """Paused Friday 17:00 with 2 h of business time left, resumed Monday 10:00 (two business
    hours spent waiting: Friday's last and Monday's first): due Monday 12:00."""
    clock = start_clock(R, 4 * H, sh(2026, 11, 27, 13), WEEKLY)  # Friday 13:00, due 17:00
    clock = retarget(clock, 6 * H, sh(2026, 11, 27, 14), WEEKLY)  # due Monday 10:00
    clock = pause_clock(clock, sh(2026, 11, 27, 17), WEEKLY)
    assert clock.remaining == 2 * H
    assert clock.warn_remaining == timedelta(minutes=48)  # warning at 4 h 48 min
    clock = resume_clock(clock, sh(2026, 11, 30, 10), WEEKLY)
    assert clock.due_at == sh(2026, 11, 30, 12)
    assert clock.warn_at == sh(2026, 11, 30, 10, 48)
    assert clock.paused_for == 2 * H


# (steps before, the refused step)
REFUSALS = [
    ([("stop", t(1))], ("pause", t(2))),
    ([("pause", t(1))], ("pause", t(2))),
    ([], ("resume", t(2))),
    ([("pause", t(1)), ("resume", t(2))], ("resume", t(3))),
    ([("stop", t(1))], ("resume", t(2))),
    ([("pause", t(1)), ("stop", t(2))], ("resume", t(3))),
    ([("stop", t(1))], ("stop", t(2))),
    ([("stop", t(1))], ("retarget", 2 * H, t(2))),
]


@pytest.mark.parametrize(("steps", "refused"), REFUSALS)
def test_illegal_transitions_are_conflicts(steps, refused) -> None:
    clock = start_clock(F, H, T0, ALWAYS)
    for step in steps:
        clock = _apply(clock, step, ALWAYS)
    with pytest.raises(IllegalClockTransition) as raised:
        _apply(clock, refused, ALWAYS)
    assert isinstance(raised.value, Conflict)
    assert raised.value.slug == "illegal-clock-transition"
    done = {"pause": "paused", "resume": "resumed", "stop": "stopped", "retarget": "retargeted"}
    assert raised.value.facts == {"clock": "first_response", "action": done[refused[0]]}
    assert "first_response clock cannot be" in raised.value.detail


def test_negative_targets_are_refused() -> None:
    with pytest.raises(ValueError):
        start_clock(R, -H, T0, ALWAYS)
    with pytest.raises(ValueError):
        retarget(start_clock(R, H, T0, ALWAYS), -H, T0, ALWAYS)


# ------------------------------------------------------------------------------ the view

# A 60-minute clock from T0: (steps, now, status, elapsed, remaining, overdue, percent)
VIEWS = [
    ([], t(0), ClockStatus.RUNNING, 0, 60, 0, 0.0),
    ([], t(30), ClockStatus.RUNNING, 30, 30, 0, 50.0),
    ([], t(48), ClockStatus.WARNING, 48, 12, 0, 80.0),
    ([], t(60), ClockStatus.WARNING, 60, 0, 0, 100.0),
    ([], t(90), ClockStatus.BREACHED, 90, 0, 30, 150.0),
    ([("pause", t(15))], t(500), ClockStatus.PAUSED, 15, 45, 0, 25.0),
    ([("pause", t(70))], t(500), ClockStatus.BREACHED, 70, 0, 10, 116.7),
    ([("pause", t(15)), ("resume", t(45))], t(50), ClockStatus.RUNNING, 20, 40, 0, 33.3),
    ([("stop", t(45))], t(500), ClockStatus.MET, 45, 15, 0, 75.0),
    ([("stop", t(75))], t(500), ClockStatus.MISSED, 75, 0, 15, 125.0),
    ([("pause", t(15)), ("stop", t(400))], t(500), ClockStatus.MET, 15, 45, 0, 25.0),
]


@pytest.mark.parametrize(
    ("steps", "now", "status", "elapsed", "remaining", "overdue", "percent"), VIEWS
)
def test_clock_view(steps, now, status, elapsed, remaining, overdue, percent) -> None:
    clock = start_clock(R, H, T0, ALWAYS)
    for step in steps:
        clock = _apply(clock, step, ALWAYS)
    view = clock_view(clock, now, ALWAYS)
    assert view.status == status
    assert (view.elapsed, view.remaining, view.overdue) == (
        elapsed * MIN,
        remaining * MIN,
        overdue * MIN,
    )
    assert view.percent_used == percent


def test_the_view_counts_business_time_only() -> None:
    """Started Friday 17:00 with 4 h: on Saturday one hour is used and three are left."""
    clock = start_clock(R, 4 * H, sh(2026, 11, 27, 17), WEEKLY)
    view = clock_view(clock, sh(2026, 11, 28, 12), WEEKLY)
    assert (view.status, view.elapsed, view.remaining) == (ClockStatus.RUNNING, H, 3 * H)


def test_a_zero_target_is_due_at_once() -> None:
    clock = start_clock(A, timedelta(0), T0, ALWAYS)
    assert clock.due_at == clock.warn_at == T0
    assert clock_view(clock, t(1), ALWAYS).status == ClockStatus.BREACHED
    assert clock_view(clock, t(1), ALWAYS).percent_used == 100.0
