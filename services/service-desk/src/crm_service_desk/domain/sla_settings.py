"""The SLA configuration's use cases (系统设置-服务时限): business calendars and SLA targets.
Service staff read them; only a supervisor or an admin changes them. ``load_calendar`` and
``load_targets`` are what the ticket use cases call to start and move clocks.

Holidays are added and removed one day at a time (``PUT``/``DELETE`` of a day): the version
is checked when the caller sends one, but adding a day never loses another change (the row
is locked and the day merged in), so a caller may leave it out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.errors import (
    Conflict,
    InvalidField,
    NotFound,
    PreconditionRequired,
    StaleVersion,
)
from crm_service_desk.db import sla_repository as repo
from crm_service_desk.db.sla_models import BusinessCalendarRow, SlaTargetRow, target_scope
from crm_service_desk.domain import sla_clocks
from crm_service_desk.domain.access import ensure_service_staff, ensure_supervisor
from crm_service_desk.domain.calendars import (
    DEFAULT_WEEKLY_HOURS,
    WEEKDAYS,
    BusinessCalendar,
    CalendarKind,
    Interval,
    WeeklyHours,
    validate_calendar,
)
from crm_service_desk.domain.commands import (
    CreateCalendar,
    DayNote,
    RemoveHoliday,
    ReplaceTargets,
    SetHoliday,
    UpdateCalendar,
)
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.domain.enums import Priority, TicketType
from crm_service_desk.domain.sla import ClockKind, SlaTarget

DEFAULT_CALENDAR_KEY = repo.DEFAULT_CALENDAR_KEY
READING = "read the SLA configuration"

# --------------------------------------------------------------------------- row <-> domain


def _hours_to_json(hours: WeeklyHours) -> dict[str, list[list[str]]]:
    return {
        WEEKDAYS[day]: [[f"{s:%H:%M}", f"{e:%H:%M}"] for s, e in intervals]
        for day, intervals in sorted(hours.items())
        if intervals
    }


def _hours_of_json(raw: Mapping[str, Any]) -> dict[int, tuple[Interval, ...]]:
    return {
        WEEKDAYS.index(day): tuple((time.fromisoformat(s), time.fromisoformat(e)) for s, e in spans)
        for day, spans in raw.items()
    }


def _days_to_json(notes: Iterable[DayNote]) -> list[dict[str, Any]]:
    by_day = {note.day: note for note in notes}  # the last note of a day wins
    return [{"date": d.isoformat(), "name": by_day[d].name} for d in sorted(by_day)]


def day_notes(raw: Iterable[Mapping[str, Any]]) -> list[DayNote]:
    return [DayNote(day=date.fromisoformat(item["date"]), name=item.get("name")) for item in raw]


def calendar_of(row: BusinessCalendarRow) -> BusinessCalendar:
    return BusinessCalendar(
        kind=CalendarKind(row.kind),
        timezone=row.timezone,
        weekly_hours=_hours_of_json(row.weekly_hours),
        holidays=frozenset(note.day for note in day_notes(row.holidays)),
        extra_workdays=frozenset(note.day for note in day_notes(row.extra_workdays)),
    )


def weekly_hours_of(row: BusinessCalendarRow) -> dict[int, tuple[Interval, ...]]:
    return _hours_of_json(row.weekly_hours)


# --------------------------------------------------------------------------- for ticket use cases


async def load_calendar(session: AsyncSession, key: str | None) -> BusinessCalendar:
    """The calendar ``key`` names; no key, or one that does not exist (any more), counts on
    the ``default`` calendar, and an installation without even that on 24x7."""
    row = await repo.get_calendar(session, key) if key else None
    if row is None:
        row = await repo.get_calendar(session, DEFAULT_CALENDAR_KEY)
    return calendar_of(row) if row is not None else BusinessCalendar()


async def load_targets(session: AsyncSession) -> list[SlaTarget]:
    """Every SLA rule, for ``sla.targets_for``."""
    return [target_of(row) for row in await repo.list_targets(session)]


def target_of(row: SlaTargetRow) -> SlaTarget:
    def minutes(value: int | None) -> timedelta | None:
        return None if value is None else timedelta(minutes=value)

    return SlaTarget(
        priority=Priority(row.priority) if row.priority else None,
        ticket_type=TicketType(row.ticket_type) if row.ticket_type else None,
        assign=minutes(row.assign_minutes),
        first_response=minutes(row.first_response_minutes),
        resolve=minutes(row.resolve_minutes),
    )


# --------------------------------------------------------------------------- calendars


async def list_calendars(
    session: AsyncSession, ctx: RequestContext
) -> Sequence[BusinessCalendarRow]:
    ensure_service_staff(ctx.identity, READING)
    return await repo.list_calendars(session)


async def get_calendar(session: AsyncSession, ctx: RequestContext, key: str) -> BusinessCalendarRow:
    ensure_service_staff(ctx.identity, READING)
    return await _found(session, key)


async def calendar_exists(session: AsyncSession, key: str) -> bool:
    """Whether ``key`` names a calendar (a team may only point at one that exists)."""
    return await repo.get_calendar(session, key) is not None


async def _found(session: AsyncSession, key: str, *, lock: bool = False) -> BusinessCalendarRow:
    row = await repo.get_calendar(session, key, lock=lock)
    if row is None:
        raise NotFound(f"No business calendar {key!r}.", key=key)
    return row


def _check_version(row: BusinessCalendarRow, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise StaleVersion(
            f"The calendar {row.key!r} changed since you read it (you sent version {expected}, "
            f"it is now {row.version}); reload it and apply your change again.",
            current_version=row.version,
        )


async def _save(session: AsyncSession, ctx: RequestContext, row: BusinessCalendarRow) -> None:
    """Validate what the row now says, stamp and flush it (a concurrent writer: 409)."""
    validate_calendar(calendar_of(row))
    row.updated_at = ctx.clock.now()
    row.updated_by = ctx.actor
    session.add(row)
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            f"The calendar {row.key!r} was changed by someone else meanwhile; reload it and "
            "apply your change again."
        ) from exc
    await sla_clocks.follow_calendar_change(session, row.key, calendar_of(row), ctx.clock.now())


async def create_calendar(
    session: AsyncSession, ctx: RequestContext, command: CreateCalendar
) -> BusinessCalendarRow:
    ensure_supervisor(ctx.identity, "create business calendars")
    if await repo.get_calendar(session, command.key) is not None:
        raise Conflict(
            f"A business calendar {command.key!r} exists already.",
            slug="duplicate-calendar",
            key=command.key,
        )
    hours = DEFAULT_WEEKLY_HOURS if command.weekly_hours is None else command.weekly_hours
    row = BusinessCalendarRow(
        key=command.key,
        name=command.name,
        kind=command.kind.value,
        timezone=command.timezone,
        weekly_hours=_hours_to_json(hours),
        holidays=_days_to_json(command.holidays),
        extra_workdays=_days_to_json(command.extra_workdays),
        updated_at=ctx.clock.now(),
        updated_by=ctx.actor,
    )
    await _save(session, ctx, row)
    return row


def _apply(row: BusinessCalendarRow, name: str, value: Any) -> None:
    if name == "kind":
        row.kind = CalendarKind(value).value
    elif name == "weekly_hours":
        row.weekly_hours = _hours_to_json(value)
    elif name in ("holidays", "extra_workdays"):
        setattr(row, name, _days_to_json(value))
    elif name in ("name", "timezone"):
        setattr(row, name, value)
    else:
        raise InvalidField(name, "cannot be changed")


async def update_calendar(
    session: AsyncSession, ctx: RequestContext, command: UpdateCalendar
) -> BusinessCalendarRow:
    ensure_supervisor(ctx.identity, "change business calendars")
    row = await _found(session, command.key, lock=True)
    _check_version(row, command.expected_version)
    for name, value in command.changes.items():
        _apply(row, name, value)
    await _save(session, ctx, row)
    return row


async def set_holiday(
    session: AsyncSession, ctx: RequestContext, command: SetHoliday
) -> BusinessCalendarRow:
    """The day is off (renamed if it was already); an extra working day no longer."""
    ensure_supervisor(ctx.identity, "change business calendars")
    row = await _found(session, command.key, lock=True)
    _check_version(row, command.expected_version)
    day = command.holiday.day
    row.holidays = _days_to_json([*day_notes(row.holidays), command.holiday])
    row.extra_workdays = [d for d in row.extra_workdays if d["date"] != day.isoformat()]
    await _save(session, ctx, row)
    return row


async def remove_holiday(
    session: AsyncSession, ctx: RequestContext, command: RemoveHoliday
) -> BusinessCalendarRow:
    ensure_supervisor(ctx.identity, "change business calendars")
    row = await _found(session, command.key, lock=True)
    _check_version(row, command.expected_version)
    kept = [d for d in row.holidays if d["date"] != command.day.isoformat()]
    if len(kept) == len(row.holidays):
        raise NotFound(
            f"{command.day.isoformat()} is not a holiday of the calendar {row.key!r}.",
            key=row.key,
            date=command.day.isoformat(),
        )
    row.holidays = kept
    await _save(session, ctx, row)
    return row


async def preview_due(
    session: AsyncSession, ctx: RequestContext, key: str, start: datetime | None, hours: float
) -> tuple[BusinessCalendarRow, datetime, datetime]:
    """(calendar, start, due): when ``hours`` of business time after ``start`` (now) end."""
    row = await get_calendar(session, ctx, key)
    start = start or ctx.clock.now()
    try:
        due = calendar_of(row).add(start, timedelta(hours=hours))
    except OverflowError:
        raise InvalidField(
            "start", "is too close to the ends of the calendar", location="query"
        ) from None
    return row, start, due


# --------------------------------------------------------------------------- targets


async def list_targets(session: AsyncSession, ctx: RequestContext) -> Sequence[SlaTargetRow]:
    ensure_service_staff(ctx.identity, READING)
    return await repo.list_targets(session)


def _check_targets(targets: Sequence[SlaTarget]) -> None:
    seen: set[str] = set()
    for index, target in enumerate(targets):
        scope = target_scope(target.priority, target.ticket_type)
        if scope in seen:
            raise InvalidField(f"targets.{index}", f"repeats the rule for {scope}")
        seen.add(scope)
        if all(target.of(kind) is None for kind in ClockKind):
            raise InvalidField(f"targets.{index}", "sets no target at all")
    default = next((t for t in targets if t.is_default), None)
    if default is None or any(default.of(kind) is None for kind in ClockKind):
        raise InvalidField(
            "targets",
            "needs the default rule (no priority, no ticket type) with all three targets "
            "(assign_minutes, first_response_minutes, resolve_minutes)",
        )


def _minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def targets_version(rows: Sequence[SlaTargetRow]) -> str:
    """The table's version, from its content: any change of any rule changes it (the table is
    replaced as a whole, so there is no row version to compare)."""
    content = sorted(
        (r.scope, r.assign_minutes, r.first_response_minutes, r.resolve_minutes) for r in rows
    )
    return hashlib.sha256(repr(content).encode()).hexdigest()[:16]


async def replace_targets(
    session: AsyncSession, ctx: RequestContext, command: ReplaceTargets
) -> Sequence[SlaTargetRow]:
    """The whole table at once: what the admin sends is what applies to clocks started from
    now on (running clocks keep their moments until a ticket's priority or type changes)."""
    ensure_supervisor(ctx.identity, "change SLA targets")
    _check_targets(command.targets)
    current = targets_version(await repo.list_targets(session, for_update=True))
    if command.expected_version is None:
        raise PreconditionRequired(
            "Send the version of the targets you read (body field 'version' or If-Match) so "
            "no supervisor's change is lost.",
            slug="version-required",
        )
    if command.expected_version != current:
        raise StaleVersion(
            f"The SLA targets changed since you read them (version {command.expected_version}, "
            f"now {current}); reload them and apply your change again.",
            current_version=current,
        )
    now = ctx.clock.now()
    rows = [
        SlaTargetRow(
            scope=target_scope(t.priority, t.ticket_type),
            priority=t.priority.value if t.priority else None,
            ticket_type=t.ticket_type.value if t.ticket_type else None,
            assign_minutes=_minutes(t.assign),
            first_response_minutes=_minutes(t.first_response),
            resolve_minutes=_minutes(t.resolve),
            updated_at=now,
            updated_by=ctx.actor,
        )
        for t in command.targets
    ]
    await repo.replace_targets(session, rows)
    return await repo.list_targets(session)
