"""The commands the service-desk use cases take: one typed, frozen value per use case that
creates or changes something, built by the HTTP edge from a validated body (or by an event
handler).

Updates carry ``changes``, the fields the caller set (a PATCH's explicit fields), with the
version they were based on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_service_desk.domain.calendars import DEFAULT_TIMEZONE, CalendarKind, WeeklyHours
from crm_service_desk.domain.sla import SlaTarget

# --------------------------------------------------------------------------- SLA configuration


@dataclass(frozen=True, kw_only=True)
class DayNote:
    """A day an admin names: a holiday or an extra working day, with an optional name."""

    day: date
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateCalendar:
    key: str
    name: str
    kind: CalendarKind = CalendarKind.WEEKLY
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: WeeklyHours | None = None  # None: Mon-Fri 09:00-18:00
    holidays: tuple[DayNote, ...] = ()
    extra_workdays: tuple[DayNote, ...] = ()


@dataclass(frozen=True, kw_only=True)
class UpdateCalendar:
    key: str
    # name, kind, timezone, weekly_hours (WeeklyHours), holidays, extra_workdays (DayNotes)
    changes: Mapping[str, Any]
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class SetHoliday:
    key: str
    holiday: DayNote
    expected_version: int | None = None  # None: applied to whatever version is current


@dataclass(frozen=True, kw_only=True)
class RemoveHoliday:
    key: str
    day: date
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ReplaceTargets:
    targets: tuple[SlaTarget, ...]
