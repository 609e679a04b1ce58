"""Request and response bodies of the tickets API."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_platform.http.patch import Clearable, PatchBody
from crm_service_desk.db.ticket_models import SlaClock, Ticket, TicketLogEntry
from crm_service_desk.domain.calendars import BusinessCalendar
from crm_service_desk.domain.commands import OpenTicket
from crm_service_desk.domain.enums import Channel, Mood, Priority, TicketStatus, TicketType
from crm_service_desk.domain.sla import clock_status, clock_view
from crm_service_desk.domain.sla_clocks import state_of
from crm_service_desk.domain.tickets import TicketDetail

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=5, max_length=10_000)
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Resolution = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=10_000)
]
Cause = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
TeamKey = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$"),
]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="Or If-Match")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(Strict):
    customer_id: uuid.UUID
    description: Description = Field(description="What happened, when, and its impact")
    ticket_type: TicketType
    priority: Priority = Field(
        default=Priority.MEDIUM, description="A complaint is always high (and urgent)"
    )
    title: Title | None = Field(default=None, description="Default: the description's first line")
    contact_id: uuid.UUID | None = None
    mood: Mood | None = Field(default=None, description="Complaints only: the customer's mood")
    channel: Channel = Channel.PHONE
    cause: Cause | None = Field(default=None, description="The cause, for the complaint review")
    team_key: TeamKey = "default"

    def command(self) -> OpenTicket:
        return OpenTicket(
            customer_id=self.customer_id,
            description=self.description,
            ticket_type=self.ticket_type,
            priority=self.priority,
            title=self.title,
            contact_id=self.contact_id,
            mood=self.mood,
            channel=self.channel,
            cause=self.cause,
            team_key=self.team_key,
        )


class TicketPatch(PatchBody):
    """Only what changes; ``null`` clears the mood, cause or contact."""

    version: Version | None = None
    title: Title | None = None
    description: Description | None = None
    ticket_type: TicketType | None = None
    priority: Priority | None = None
    urgent: bool | None = None
    mood: Annotated[Mood | None, Clearable] = None
    cause: Annotated[Cause | None, Clearable] = None
    contact_id: Annotated[uuid.UUID | None, Clearable] = None
    channel: Channel | None = None

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set if name != "version"}


class AssignIn(Strict):
    assignee_id: UserId
    note: Note | None = None
    version: Version | None = None


class LogIn(Strict):
    note: Note
    contacted_customer: bool = Field(
        default=False, description="A contact with the customer: the ticket's first response"
    )


class StateChangeIn(Strict):
    note: Note | None = None
    version: Version | None = None


class ResolveIn(Strict):
    resolution: Resolution
    cause: Cause | None = None
    version: Version | None = None


class TicketOut(BaseModel):
    id: uuid.UUID
    code: str
    customer_id: uuid.UUID
    customer_name: str
    contact_id: uuid.UUID | None
    title: str
    ticket_type: TicketType
    priority: Priority
    urgent: bool
    status: TicketStatus
    mood: Mood | None
    channel: Channel
    cause: str | None
    team_key: str
    assignee_id: str | None
    waiting_on_customer: bool
    reopen_count: int
    satisfaction: int | None
    created_by: str
    created_at: datetime
    assigned_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    version: int

    @classmethod
    def of(cls, ticket: Ticket) -> "TicketOut":
        values = ticket.model_dump()
        values["waiting_on_customer"] = ticket.waiting_since is not None
        return cls.model_validate(values)


class LogEntryOut(BaseModel):
    at: datetime
    actor_id: str
    action: str
    note: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: TicketLogEntry) -> "LogEntryOut":
        return cls(
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            note=entry.note,
            details=entry.details,
        )


class SlaClockOut(BaseModel):
    kind: str
    round: int
    target_minutes: int
    started_at: datetime
    due_at: datetime | None = Field(description="None while paused: it depends on the resume")
    warn_at: datetime | None
    status: str = Field(description="running, paused, warning, breached, met or missed")
    elapsed_minutes: int = Field(description="Business time used so far")
    remaining_minutes: int = Field(description="Business time left (negative when over)")
    percent_used: int
    paused_since: datetime | None
    stopped_at: datetime | None

    @classmethod
    def of(cls, clock: SlaClock, now: datetime, calendar: BusinessCalendar) -> "SlaClockOut":
        view = clock_view(state_of(clock), now, calendar)
        paused = clock.paused_at is not None and clock.stopped_at is None
        return cls(
            kind=clock.kind,
            round=clock.round,
            target_minutes=clock.target_seconds // 60,
            started_at=clock.started_at,
            due_at=None if paused else clock.due_at,
            warn_at=None if paused else clock.warn_at,
            status=view.status,
            elapsed_minutes=int(view.elapsed.total_seconds() // 60),
            remaining_minutes=int((view.remaining - view.overdue).total_seconds() // 60),
            percent_used=round(view.percent_used),
            paused_since=clock.paused_at if paused else None,
            stopped_at=clock.stopped_at,
        )


class TicketDetailOut(TicketOut):
    description: str
    resolution: str | None
    resolved_by: str | None
    satisfaction_comment: str | None
    satisfaction_at: datetime | None
    log: list[LogEntryOut]
    sla: list[SlaClockOut]

    @classmethod
    def of_detail(cls, detail: TicketDetail, now: datetime) -> "TicketDetailOut":
        base = TicketOut.of(detail.ticket).model_dump()
        ticket = detail.ticket
        return cls(
            **base,
            description=ticket.description,
            resolution=ticket.resolution,
            resolved_by=ticket.resolved_by,
            satisfaction_comment=ticket.satisfaction_comment,
            satisfaction_at=ticket.satisfaction_at,
            log=[LogEntryOut.of(entry) for entry in detail.log],
            sla=[SlaClockOut.of(clock, now, detail.calendar) for clock in detail.clocks],
        )


class NextClockOut(BaseModel):
    """A listed ticket's clock that falls due first, so a queue shows time left or breach."""

    kind: str
    round: int
    due_at: datetime | None = Field(description="None while paused: it depends on the resume")
    warn_at: datetime | None
    status: str = Field(description="running, warning, breached or paused (as the ticket page)")
    paused_remaining_minutes: int | None = Field(
        description="Business time left when it was paused (None unless paused)"
    )

    @classmethod
    def of(cls, clock: SlaClock, now: datetime) -> "NextClockOut":
        paused = clock.paused_at is not None
        return cls(
            kind=clock.kind,
            round=clock.round,
            due_at=None if paused else clock.due_at,
            warn_at=None if paused else clock.warn_at,
            status=clock_status(state_of(clock), now).value,
            paused_remaining_minutes=(clock.remaining_seconds or 0) // 60 if paused else None,
        )


class TicketListItemOut(TicketOut):
    next_clock: NextClockOut | None = Field(
        description="The running clock due first (a paused one when none runs); None when all "
        "have stopped"
    )


class TicketPage(BaseModel):
    items: list[TicketListItemOut]
    total: int
    page: int
    page_size: int
