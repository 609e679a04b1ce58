"""The commands the service-desk use cases take: one typed, frozen value per use case that
creates or changes something, built by the HTTP edge from a validated body (or by an event
handler, or the SLA checker).

Changes of state carry the version they were based on (``expected_version``), so no change
is lost; a log line is appended and needs none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from crm_service_desk.domain.calendars import DEFAULT_TIMEZONE, CalendarKind, WeeklyHours
from crm_service_desk.domain.enums import Channel, Mood, Priority, TicketType
from crm_service_desk.domain.sla import SlaTarget


@dataclass(frozen=True, kw_only=True)
class OpenTicket:
    customer_id: uuid.UUID
    description: str
    ticket_type: TicketType
    priority: Priority = Priority.MEDIUM
    title: str | None = None  # None: the description's first line
    contact_id: uuid.UUID | None = None
    mood: Mood | None = None
    channel: Channel = Channel.PHONE
    cause: str | None = None
    team_key: str = "default"


@dataclass(frozen=True, kw_only=True)
class UpdateTicket:
    ticket_id: uuid.UUID
    changes: Mapping[str, Any]  # title, description, ticket_type, priority, mood, cause, …
    expected_version: int


@dataclass(frozen=True, kw_only=True)
class AssignTicket:
    ticket_id: uuid.UUID
    assignee_id: str
    expected_version: int
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogOnTicket:
    ticket_id: uuid.UUID
    note: str
    contacted_customer: bool = False  # a contact with the customer: the first response


@dataclass(frozen=True, kw_only=True)
class ChangeTicketState:
    """Wait on the customer, resume, close or reopen, with a note for the log."""

    ticket_id: uuid.UUID
    expected_version: int
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class ResolveTicket:
    ticket_id: uuid.UUID
    resolution: str
    expected_version: int
    cause: str | None = None


@dataclass(frozen=True, kw_only=True)
class AnswerSurvey:
    token: str
    score: int
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class CompleteCallback:
    callback_id: uuid.UUID
    outcome: str


@dataclass(frozen=True, kw_only=True)
class SaveTeam:
    key: str
    name: str
    calendar_key: str
    supervisor_id: str | None
    strategy: str
    expected_version: int | None  # None: a new team


@dataclass(frozen=True, kw_only=True)
class SaveAgent:
    user_id: str
    team_key: str
    display_name: str
    ticket_types: tuple[TicketType, ...]
    active: bool = True


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
    expected_version: str | None  # the table's version read (``targets_version``)
