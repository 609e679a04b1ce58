"""Request and response bodies of the SLA configuration (calendars, holidays, targets), with
the field-level validation; the rules that need the whole definition are the domain's."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from crm_platform.http.patch import PatchBody
from crm_service_desk.db.sla_models import BusinessCalendarRow, SlaTargetRow
from crm_service_desk.domain.calendars import WEEKDAYS, CalendarKind, Interval
from crm_service_desk.domain.commands import CreateCalendar, DayNote, ReplaceTargets
from crm_service_desk.domain.enums import Priority, TicketType
from crm_service_desk.domain.sla import SlaTarget
from crm_service_desk.domain.sla_settings import day_notes

CalendarKey = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$"),
    Field(description="A short slug: lower-case letters, digits, - and _ (at most 32)"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Timezone = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# At most a year in minutes, well inside an INTEGER column.
Minutes = Annotated[int, Field(ge=1, le=525_600)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


def _local(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("is a local time of the calendar's zone, without an offset")
    return value


LocalTime = Annotated[time, AfterValidator(_local)]
IntervalIn = Annotated[
    tuple[LocalTime, LocalTime],
    Field(description='["09:00", "18:00"]; "00:00" as the end is midnight'),
]
WeeklyHoursIn = dict[Weekday, Annotated[list[IntervalIn], Field(max_length=12)]]


def weekly_hours(value: WeeklyHoursIn) -> dict[int, tuple[Interval, ...]]:
    return {WEEKDAYS.index(day.value): tuple(intervals) for day, intervals in value.items()}


class DayNoteIn(Strict):
    date: date
    name: Annotated[str, StringConstraints(max_length=100)] | None = None

    def note(self) -> DayNote:
        return DayNote(day=self.date, name=self.name)


DayNotesIn = Annotated[list[DayNoteIn], Field(max_length=1000)]


class CalendarCreate(Strict):
    key: CalendarKey
    name: Name
    kind: CalendarKind = CalendarKind.WEEKLY
    timezone: Timezone = "Asia/Shanghai"
    weekly_hours: WeeklyHoursIn | None = Field(default=None, description="Mon-Fri 09:00-18:00")
    holidays: DayNotesIn = Field(default_factory=list)
    extra_workdays: DayNotesIn = Field(default_factory=list)

    def command(self) -> CreateCalendar:
        return CreateCalendar(
            key=self.key,
            name=self.name,
            kind=self.kind,
            timezone=self.timezone,
            weekly_hours=None if self.weekly_hours is None else weekly_hours(self.weekly_hours),
            holidays=tuple(n.note() for n in self.holidays),
            extra_workdays=tuple(n.note() for n in self.extra_workdays),
        )


class CalendarPatch(PatchBody):
    version: int | None = Field(default=None, ge=0, le=2**31 - 1, description="Or If-Match")
    name: Name | None = None
    kind: CalendarKind | None = None
    timezone: Timezone | None = None
    weekly_hours: WeeklyHoursIn | None = None
    holidays: DayNotesIn | None = None
    extra_workdays: DayNotesIn | None = None

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for name in self.model_fields_set - {"version"}:
            value = getattr(self, name)
            if name == "weekly_hours":
                value = weekly_hours(value)
            elif name in ("holidays", "extra_workdays"):
                value = tuple(n.note() for n in value)
            changes[name] = value
        return changes


class HolidayIn(Strict):
    name: Annotated[str, StringConstraints(max_length=100)] | None = None


class DayNoteOut(BaseModel):
    date: date
    name: str | None = None


class CalendarOut(BaseModel):
    key: str
    name: str
    kind: CalendarKind
    timezone: str
    weekly_hours: dict[str, list[tuple[str, str]]]
    holidays: list[DayNoteOut]
    extra_workdays: list[DayNoteOut]
    version: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, row: BusinessCalendarRow) -> CalendarOut:
        return cls(
            key=row.key,
            name=row.name,
            kind=CalendarKind(row.kind),
            timezone=row.timezone,
            weekly_hours={
                day: [tuple(i) for i in spans] for day, spans in row.weekly_hours.items()
            },
            holidays=[DayNoteOut(date=n.day, name=n.name) for n in day_notes(row.holidays)],
            extra_workdays=[
                DayNoteOut(date=n.day, name=n.name) for n in day_notes(row.extra_workdays)
            ],
            version=row.version,
            updated_at=row.updated_at,
            updated_by=row.updated_by,
        )


class CalendarListOut(BaseModel):
    items: list[CalendarOut]


class PreviewOut(BaseModel):
    calendar: str
    start: datetime
    hours: float
    due_at: datetime = Field(description="UTC")
    due_at_local: str = Field(description="The due moment in the calendar's time zone")


class SlaTargetIn(Strict):
    priority: Priority | None = Field(default=None, description="null: any priority")
    ticket_type: TicketType | None = Field(default=None, description="null: any type")
    assign_minutes: Minutes | None = None
    first_response_minutes: Minutes | None = None
    resolve_minutes: Minutes | None = Field(default=None, description="Business minutes")

    def target(self) -> SlaTarget:
        def span(minutes: int | None) -> timedelta | None:
            return None if minutes is None else timedelta(minutes=minutes)

        return SlaTarget(
            priority=self.priority,
            ticket_type=self.ticket_type,
            assign=span(self.assign_minutes),
            first_response=span(self.first_response_minutes),
            resolve=span(self.resolve_minutes),
        )


class SlaTargetsIn(Strict):
    targets: Annotated[list[SlaTargetIn], Field(min_length=1, max_length=20)]
    version: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The version of the targets you read (or If-Match)"
    )

    def command(self, if_match: str | None) -> ReplaceTargets:
        read = self.version or (
            if_match.strip().removeprefix("W/").strip('"') if if_match else None
        )
        return ReplaceTargets(
            targets=tuple(t.target() for t in self.targets), expected_version=read
        )


class SlaTargetOut(BaseModel):
    priority: Priority | None
    ticket_type: TicketType | None
    assign_minutes: int | None
    first_response_minutes: int | None
    resolve_minutes: int | None
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, row: SlaTargetRow) -> SlaTargetOut:
        return cls.model_validate(row, from_attributes=True)


class SlaTargetsOut(BaseModel):
    targets: list[SlaTargetOut]
    version: str = Field(description="Send it back to replace the table (a change in between: 409)")
