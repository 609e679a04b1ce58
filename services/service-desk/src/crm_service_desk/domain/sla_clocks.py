"""A ticket's SLA clocks, kept as rows: started when the ticket opens, stopped by the step
each one measures (assignment, the first contact, the resolution), paused while the ticket
waits on the customer, re-aimed when its priority or type changes, and a new resolve round
when it is reopened. The state machine itself is ``domain.sla``'s pure functions; this module
applies them to the rows of one ticket, in the caller's transaction.

A clock stopped after its due moment whose breach the checker has not published yet (the
checker was down, or it was stopped within the poll interval) gets its ``ticket.sla_breached``
here, with the same once-only mark, so every breach raises exactly one event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_service_desk.db import ticket_repository as repo
from crm_service_desk.db.ticket_models import SlaClock, Ticket
from crm_service_desk.domain.calendars import BusinessCalendar
from crm_service_desk.domain.sla import (
    ClockKind,
    ClockOutcome,
    ClockState,
    pause_clock,
    resume_clock,
    retarget,
    start_clock,
    stop_clock,
)


def state_of(row: SlaClock) -> ClockState:
    return ClockState(
        kind=ClockKind(row.kind),
        target=timedelta(seconds=row.target_seconds),
        started_at=row.started_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        warn_ratio=row.warn_ratio,
        paused_at=row.paused_at,
        remaining=_seconds(row.remaining_seconds),
        warn_remaining=_seconds(row.warn_remaining_seconds),
        paused_for=timedelta(seconds=row.paused_seconds),
        warn_paused_for=timedelta(seconds=row.warn_paused_seconds),
        stopped_at=row.stopped_at,
        outcome=ClockOutcome(row.outcome) if row.outcome else None,
    )


def _seconds(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def _whole_seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def apply_state(row: SlaClock, state: ClockState) -> None:
    row.target_seconds = int(state.target.total_seconds())
    row.due_at = state.due_at
    row.warn_at = state.warn_at
    row.paused_at = state.paused_at
    row.remaining_seconds = _whole_seconds(state.remaining)
    row.warn_remaining_seconds = _whole_seconds(state.warn_remaining)
    row.paused_seconds = int(state.paused_for.total_seconds())
    row.warn_paused_seconds = int(state.warn_paused_for.total_seconds())
    row.warn_ratio = state.warn_ratio
    row.stopped_at = state.stopped_at
    row.outcome = state.outcome.value if state.outcome else None


def is_live(row: SlaClock) -> bool:
    return row.stopped_at is None


def new_clocks(
    ticket: Ticket,
    targets: Mapping[ClockKind, timedelta],
    at: datetime,
    calendar: BusinessCalendar,
    warn_ratio: float,
    *,
    kinds: tuple[ClockKind, ...] = tuple(ClockKind),
    round_: int = 1,
) -> list[SlaClock]:
    """Rows of the clocks ``targets`` sets among ``kinds``, started at ``at``."""
    rows = []
    for kind in kinds:
        target = targets.get(kind)
        if target is None:
            continue
        state = start_clock(kind, target, at, calendar, warn_ratio=warn_ratio)
        row = SlaClock(
            ticket_id=ticket.id,
            kind=kind.value,
            round=round_,
            target_seconds=int(target.total_seconds()),
            started_at=at,
            due_at=state.due_at,
            warn_at=state.warn_at,
            warn_ratio=warn_ratio,
        )
        apply_state(row, state)
        rows.append(row)
    return rows


def stop(rows: list[SlaClock], kind: ClockKind, at: datetime) -> list[SlaClock]:
    """Stops the live clock of ``kind`` (a paused one too); answers the clocks now stopped
    late whose breach is still to be published (the caller publishes it and marks it)."""
    late = []
    for row in rows:
        if row.kind != kind.value or not is_live(row):
            continue
        # Stopped while waiting on the customer: judged at the pause (the wait does not count).
        apply_state(row, stop_clock(state_of(row), at))
        if row.outcome == "breached" and row.breach_sent_at is None:
            row.breach_sent_at = at
            row.warning_sent_at = row.warning_sent_at or at
            late.append(row)
    return late


def pause(rows: list[SlaClock], at: datetime, calendar: BusinessCalendar) -> None:
    for row in rows:
        if is_live(row) and row.paused_at is None:
            apply_state(row, pause_clock(state_of(row), at, calendar))


def resume(rows: list[SlaClock], at: datetime, calendar: BusinessCalendar) -> None:
    for row in rows:
        if is_live(row) and row.paused_at is not None:
            apply_state(row, resume_clock(state_of(row), at, calendar))


def reaim(
    rows: list[SlaClock],
    targets: Mapping[ClockKind, timedelta],
    at: datetime,
    calendar: BusinessCalendar,
) -> None:
    """New targets (the priority or type changed) for the live clocks, from their start. A
    clock whose new due moment moved later may warn or breach again only if it had not: the
    sent marks stay, so no alert repeats."""
    for row in rows:
        target = targets.get(ClockKind(row.kind))
        if is_live(row) and target is not None and target.total_seconds() != row.target_seconds:
            apply_state(row, retarget(state_of(row), target, at, calendar))


def next_round(rows: list[SlaClock], kind: ClockKind) -> int:
    return 1 + max((row.round for row in rows if row.kind == kind.value), default=0)


async def follow_calendar_change(
    session: AsyncSession, calendar_key: str, calendar: BusinessCalendar, at: datetime
) -> int:
    """A calendar's hours or holidays changed: the live clocks of the teams on it get their
    due and warning moments again from their start, on the calendar as it is now (a holiday
    added today moves the deadlines it falls before). Answers how many clocks moved."""
    moved = 0
    for row in await repo.live_clocks_on_calendar(session, calendar_key):
        state = state_of(row)
        changed = retarget(state, state.target, at, calendar)
        if (changed.due_at, changed.warn_at) != (state.due_at, state.warn_at):
            apply_state(row, changed)
            session.add(row)
            moved += 1
    return moved
