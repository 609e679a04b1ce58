"""SLA targets and the clock state machine (SPEC §3 "SLA clocks"), as pure functions of a
frozen state, a moment and a business calendar; no database, no clock of their own.

A ticket runs up to three clocks: ``assign`` (until it is assigned), ``first_response`` (until
the assignee first contacts the customer) and ``resolve`` (until it is resolved). Each clock
keeps absolute moments, ``due_at`` and ``warn_at`` (80% of the target by default), so the SLA
scanner reads an index range instead of computing anything per ticket; pausing (waiting on
the customer) remembers the business time that was left, and resuming recomputes the moments
from it.

Transitions::

    start ──► running ──pause──► paused ──resume──► running
                 │                  │
                 └──stop──► stopped ◄┘   (outcome met if stopped by due_at, else breached)

``retarget`` (the priority or type changed) recomputes the moments from the original start
on a running or paused clock. Anything else (pausing a stopped clock, resuming a running one,
stopping twice) raises ``IllegalClockTransition`` (409).

Targets (``targets_for``): per clock kind, the most specific rule that sets it wins: type and
priority > type > priority > the default row (neither). The defaults (``DEFAULT_TARGETS``):

=================  ======  ==============  =========================
rule               assign  first response  resolve (business hours)
=================  ======  ==============  =========================
default            1 h     4 h             72 h
priority high      15 min  1 h             24 h
priority medium    -       4 h             72 h ("3 days")
priority low       -       8 h             120 h ("5 days")
type complaint     10 min  30 min          24 h
=================  ======  ==============  =========================

A complaint is always high priority, and its own (type) row wins over the high row. "Days"
in the specification are counted as 24 business hours each, as the resolve target's clock
counts only business time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from crm_platform.errors import Conflict
from crm_service_desk.domain.calendars import BusinessCalendar
from crm_service_desk.domain.enums import Priority, TicketType


class ClockKind(StrEnum):
    ASSIGN = "assign"
    FIRST_RESPONSE = "first_response"
    RESOLVE = "resolve"


class ClockOutcome(StrEnum):
    MET = "met"
    BREACHED = "breached"


class ClockStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"  # running, past warn_at
    BREACHED = "breached"  # running (or paused) past due_at
    MET = "met"  # stopped in time
    MISSED = "missed"  # stopped late


CLOCK_LABELS = {
    ClockKind.ASSIGN: ("分配时限", "Assignment"),
    ClockKind.FIRST_RESPONSE: ("首次响应", "First response"),
    ClockKind.RESOLVE: ("解决时限", "Resolution"),
}
CLOCK_STATUS_LABELS = {
    ClockStatus.RUNNING: ("计时中", "Running"),
    ClockStatus.PAUSED: ("已暂停", "Paused"),
    ClockStatus.WARNING: ("即将超时", "Warning"),
    ClockStatus.BREACHED: ("已超时", "Breached"),
    ClockStatus.MET: ("已达标", "Met"),
    ClockStatus.MISSED: ("超时完成", "Missed"),
}
DEFAULT_WARN_RATIO = 0.8

# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class SlaTarget:
    """One rule: a null ``priority``/``ticket_type`` matches any; a null duration leaves that
    clock to a less specific rule."""

    priority: Priority | None
    ticket_type: TicketType | None
    assign: timedelta | None
    first_response: timedelta | None
    resolve: timedelta | None

    def of(self, kind: ClockKind) -> timedelta | None:
        return getattr(self, kind.value)

    @property
    def is_default(self) -> bool:
        return self.priority is None and self.ticket_type is None


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)


DEFAULT_TARGETS = (
    SlaTarget(None, None, _hours(1), _hours(4), _hours(72)),
    SlaTarget(Priority.HIGH, None, _minutes(15), _hours(1), _hours(24)),
    SlaTarget(Priority.MEDIUM, None, None, _hours(4), _hours(72)),
    SlaTarget(Priority.LOW, None, None, _hours(8), _hours(120)),
    SlaTarget(None, TicketType.COMPLAINT, _minutes(10), _minutes(30), _hours(24)),
)


def _specificity(rule: SlaTarget, priority: Priority | None, ticket_type: TicketType | None) -> int:
    """3 type+priority, 2 type, 1 priority, 0 default; -1 when the rule does not apply."""
    if rule.priority is not None and rule.priority != priority:
        return -1
    if rule.ticket_type is not None and rule.ticket_type != ticket_type:
        return -1
    return 2 * (rule.ticket_type is not None) + (rule.priority is not None)


def targets_for(
    rules: Iterable[SlaTarget], priority: Priority | None, ticket_type: TicketType | None
) -> dict[ClockKind, timedelta]:
    """Each clock's target for a ticket; a kind no applicable rule sets is left out (that
    clock does not run)."""
    ranks = ((_specificity(rule, priority, ticket_type), rule) for rule in rules)
    ranked = sorted(((r, rule) for r, rule in ranks if r >= 0), key=lambda p: p[0], reverse=True)
    found: dict[ClockKind, timedelta] = {}
    for kind in ClockKind:
        value = next((rule.of(kind) for _, rule in ranked if rule.of(kind) is not None), None)
        if value is not None:
            found[kind] = value
    return found


# --------------------------------------------------------------------------- the clock


class IllegalClockTransition(Conflict):
    slug = "illegal-clock-transition"


@dataclass(frozen=True)
class ClockState:
    """A clock's times. While paused, ``due_at``/``warn_at`` keep their last values (the
    scanner skips paused clocks) and ``remaining``/``warn_remaining`` hold the business time
    that was left; ``paused_for``/``warn_paused_for`` add up the business time spent paused
    before the due (warn) moment, so a retarget can count from the original start."""

    kind: ClockKind
    target: timedelta
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    warn_ratio: float = DEFAULT_WARN_RATIO
    paused_at: datetime | None = None
    remaining: timedelta | None = None
    warn_remaining: timedelta | None = None
    paused_for: timedelta = timedelta(0)
    warn_paused_for: timedelta = timedelta(0)
    stopped_at: datetime | None = None
    outcome: ClockOutcome | None = None

    @property
    def is_stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None and not self.is_stopped


def _refuse(state: ClockState, action: str, why: str) -> IllegalClockTransition:
    return IllegalClockTransition(
        f"The {state.kind} clock cannot be {action}: {why}.",
        clock=state.kind.value,
        action=action,
    )


def _warn_share(target: timedelta, ratio: float) -> timedelta:
    return timedelta(seconds=round(target.total_seconds() * ratio))


def start_clock(
    kind: ClockKind,
    target: timedelta,
    at: datetime,
    calendar: BusinessCalendar,
    warn_ratio: float = DEFAULT_WARN_RATIO,
) -> ClockState:
    if target < timedelta(0):
        raise ValueError("an SLA target cannot be negative")
    if not 0 < warn_ratio <= 1:
        raise ValueError("warn_ratio is a share of the target, in (0, 1]")
    return ClockState(
        kind=kind,
        target=target,
        started_at=at,
        due_at=calendar.add(at, target),
        warn_at=calendar.add(at, _warn_share(target, warn_ratio)),
        warn_ratio=warn_ratio,
    )


def pause_clock(state: ClockState, at: datetime, calendar: BusinessCalendar) -> ClockState:
    """Waiting on the customer: the business time left is remembered (none once past due)."""
    if state.is_stopped:
        raise _refuse(state, "paused", "it has stopped")
    if state.is_paused:
        raise _refuse(state, "paused", "it is already paused")
    return replace(
        state,
        paused_at=at,
        remaining=calendar.between(at, state.due_at),
        warn_remaining=calendar.between(at, state.warn_at),
    )


def resume_clock(state: ClockState, at: datetime, calendar: BusinessCalendar) -> ClockState:
    """Due and warn moments move on by the pause; one already passed when the clock was
    paused stays where it was (a breach is not undone by waiting on the customer)."""
    if state.is_stopped:
        raise _refuse(state, "resumed", "it has stopped")
    if not state.is_paused:
        raise _refuse(state, "resumed", "it is not paused")
    assert state.paused_at is not None
    pause = calendar.between(state.paused_at, at)
    due_at, paused_for = state.due_at, state.paused_for
    if state.remaining:
        due_at, paused_for = calendar.add(at, state.remaining), paused_for + pause
    warn_at, warn_paused_for = state.warn_at, state.warn_paused_for
    if state.warn_remaining:
        warn_at = calendar.add(at, state.warn_remaining)
        warn_paused_for += pause
    return replace(
        state,
        due_at=due_at,
        warn_at=warn_at,
        paused_at=None,
        remaining=None,
        warn_remaining=None,
        paused_for=paused_for,
        warn_paused_for=warn_paused_for,
    )


def stop_clock(state: ClockState, at: datetime) -> ClockState:
    """Met if stopped by ``due_at``; a paused clock is judged at the moment it paused."""
    if state.is_stopped:
        raise _refuse(state, "stopped", "it has stopped already")
    judged_at = state.paused_at if state.is_paused else at
    assert judged_at is not None
    met = judged_at <= state.due_at
    return replace(state, stopped_at=at, outcome=ClockOutcome.MET if met else ClockOutcome.BREACHED)


def retarget(
    state: ClockState, new_target: timedelta, at: datetime, calendar: BusinessCalendar
) -> ClockState:
    """A new target (the priority or type changed), counted from the original start plus the
    business time spent paused; a paused clock stays paused with its remaining recomputed."""
    if state.is_stopped:
        raise _refuse(state, "retargeted", "it has stopped")
    if new_target < timedelta(0):
        raise ValueError("an SLA target cannot be negative")
    due_at = calendar.add(state.started_at, new_target + state.paused_for)
    warn_at = calendar.add(
        state.started_at, _warn_share(new_target, state.warn_ratio) + state.warn_paused_for
    )
    changed = replace(state, target=new_target, due_at=due_at, warn_at=warn_at)
    if not state.is_paused:
        return changed
    assert state.paused_at is not None
    return replace(
        changed,
        remaining=calendar.between(state.paused_at, due_at),
        warn_remaining=calendar.between(state.paused_at, warn_at),
    )


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class ClockView:
    status: ClockStatus
    elapsed: timedelta  # business time used (more than the target once overdue)
    remaining: timedelta  # business time left to due, zero once due
    overdue: timedelta  # business time past due, zero before
    percent_used: float


def _measured_at(state: ClockState, now: datetime) -> datetime:
    """The moment the clock's count stands at: its stop, else its pause, else now."""
    if state.stopped_at is not None:
        return state.paused_at or state.stopped_at
    return state.paused_at or now


def clock_view(state: ClockState, now: datetime, calendar: BusinessCalendar) -> ClockView:
    at = _measured_at(state, now)
    remaining = calendar.between(at, state.due_at)
    overdue = calendar.between(state.due_at, at)
    elapsed = state.target - remaining + overdue
    percent = round(100 * elapsed / state.target, 1) if state.target else 100.0
    return ClockView(clock_status(state, now), elapsed, remaining, overdue, percent)


def clock_status(state: ClockState, now: datetime) -> ClockStatus:
    """Running, warning, breached, paused (a pause that began past due is a breach), met or
    missed: the ticket page's and the queue's one rule."""
    if state.outcome is not None:
        return ClockStatus.MET if state.outcome == ClockOutcome.MET else ClockStatus.MISSED
    if state.is_paused:
        assert state.paused_at is not None
        return ClockStatus.BREACHED if state.paused_at > state.due_at else ClockStatus.PAUSED
    if now > state.due_at:
        return ClockStatus.BREACHED
    if now >= state.warn_at:
        return ClockStatus.WARNING
    return ClockStatus.RUNNING
