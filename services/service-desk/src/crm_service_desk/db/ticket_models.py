"""The tickets' tables: tickets, their processing log, SLA clocks, surveys, callbacks, the
per-year serial counter their codes are numbered from, and the teams and agents that work
them."""

import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field

from crm_platform.db import UtcDateTime
from crm_service_desk.db.registry import ServiceDeskModel


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


_ticket_version = Column("version", Integer, nullable=False, default=1)
OPEN_STATUSES = ("pending_assignment", "in_progress")


class Ticket(ServiceDeskModel, table=True):
    """A service ticket (工单): a customer's consultation, complaint, suggestion or request."""

    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("year", "serial", name="uq_ticket_year_serial"),
        # The lists' filters: the to-assign list, an agent's queue, a customer's tickets, and
        # the reports' periods.
        Index("ix_ticket_status_created", "status", "created_at"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        Index("ix_ticket_customer_created", "customer_id", "created_at"),
        Index("ix_ticket_type_created", "ticket_type", "created_at"),
        Index("ix_ticket_resolved_at", "resolved_at"),
    )
    __mapper_args__ = {"version_id_col": _ticket_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=24, unique=True)
    year: int
    serial: int
    customer_id: uuid.UUID
    customer_name: str = Field(max_length=200)
    contact_id: uuid.UUID | None = None
    title: str = Field(max_length=200)
    description: str = Field(sa_column=Column(Text, nullable=False))
    ticket_type: str = Field(max_length=20)
    priority: str = Field(max_length=10)
    status: str = Field(max_length=20)
    urgent: bool = False
    mood: str | None = Field(default=None, max_length=16)
    channel: str = Field(default="phone", max_length=16)
    cause: str | None = Field(default=None, max_length=64)
    team_key: str = Field(default="default", max_length=40)
    assignee_id: str | None = Field(default=None, max_length=64)
    assigned_at: datetime | None = _timestamp(nullable=True)
    first_response_at: datetime | None = _timestamp(nullable=True)
    waiting_since: datetime | None = _timestamp(nullable=True)
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    resolved_at: datetime | None = _timestamp(nullable=True)
    resolved_by: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = _timestamp(nullable=True)
    reopen_count: int = 0
    satisfaction: int | None = Field(default=None, sa_column=Column(SmallInteger))
    satisfaction_comment: str | None = Field(default=None, sa_column=Column(Text))
    satisfaction_at: datetime | None = _timestamp(nullable=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    version: int = Field(default=1, sa_column=_ticket_version)


class TicketSerial(ServiceDeskModel, table=True):
    """The last serial taken in a year: ``FW2026001`` is the year's first ticket."""

    __tablename__ = "ticket_serial"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_serial: int


_last_log_seq = 0


def next_log_seq() -> int:
    """Nanoseconds since the epoch, strictly increasing within the process: the order of log
    lines written at the same ``at`` (one request's lines; a fake clock in tests)."""
    global _last_log_seq
    _last_log_seq = max(time.time_ns(), _last_log_seq + 1)
    return _last_log_seq


class TicketLogEntry(ServiceDeskModel, table=True):
    """One line of a ticket's processing log (处理记录): who did what, when."""

    __tablename__ = "ticket_log"
    __table_args__ = (Index("ix_ticket_log_ticket_at", "ticket_id", "at", "seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    seq: int = Field(default_factory=next_log_seq, sa_column=Column(BigInteger, nullable=False))
    ticket_id: uuid.UUID
    at: datetime = _timestamp()
    actor_id: str = Field(max_length=64)
    action: str = Field(max_length=24)
    note: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SlaClock(ServiceDeskModel, table=True):
    """One SLA clock of a ticket (assign, first response, resolve; a reopened ticket's resolve
    clock starts a new round). Due and warning moments are absolute, computed in business
    time when the clock starts or resumes, so the checker reads an index range; a paused
    clock keeps the business time it had left instead.

    ``warning_sent_at``/``breach_sent_at`` say the event was staged: set by the same
    statement that claims the row, so each is published once whatever the number of
    checkers."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "round", name="uq_sla_clock_ticket_kind_round"),
        # The checker's two ranges: running clocks whose warning or breach is still to send.
        Index(
            "ix_sla_clock_warning_pending",
            "warn_at",
            postgresql_where=text(
                "stopped_at IS NULL AND paused_at IS NULL AND warning_sent_at IS NULL"
            ),
            sqlite_where=text(
                "stopped_at IS NULL AND paused_at IS NULL AND warning_sent_at IS NULL"
            ),
        ),
        Index(
            "ix_sla_clock_breach_pending",
            "due_at",
            postgresql_where=text(
                "stopped_at IS NULL AND paused_at IS NULL AND breach_sent_at IS NULL"
            ),
            sqlite_where=text(
                "stopped_at IS NULL AND paused_at IS NULL AND breach_sent_at IS NULL"
            ),
        ),
        Index("ix_sla_clock_started_at", "started_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    ticket_id: uuid.UUID = Field(index=True)
    kind: str = Field(max_length=16)
    round: int = 1
    target_seconds: int
    started_at: datetime = _timestamp()
    due_at: datetime = _timestamp()
    warn_at: datetime = _timestamp()
    paused_at: datetime | None = _timestamp(nullable=True)
    warn_ratio: float = 0.8
    remaining_seconds: int | None = None
    warn_remaining_seconds: int | None = None
    # Business time spent paused before the due (warning) moment: a re-aimed clock counts
    # from its start plus these.
    paused_seconds: int = 0
    warn_paused_seconds: int = 0
    stopped_at: datetime | None = _timestamp(nullable=True)
    outcome: str | None = Field(default=None, max_length=10)
    warning_sent_at: datetime | None = _timestamp(nullable=True)
    breach_sent_at: datetime | None = _timestamp(nullable=True)


class Survey(ServiceDeskModel, table=True):
    """The satisfaction survey sent when a ticket closes; its id is the signed link's subject,
    answered once."""

    __tablename__ = "survey"
    __table_args__ = (Index("ix_survey_agent_answered", "agent_id", "answered_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    ticket_id: uuid.UUID = Field(index=True)
    agent_id: str | None = Field(default=None, max_length=64)
    sent_at: datetime = _timestamp()
    expires_at: datetime = _timestamp()
    answered_at: datetime | None = _timestamp(nullable=True)
    score: int | None = Field(default=None, sa_column=Column(SmallInteger))
    comment: str | None = Field(default=None, sa_column=Column(Text))


class Callback(ServiceDeskModel, table=True):
    """A call back to the customer after a repair or visit (回访), due days after resolution."""

    __tablename__ = "ticket_callback"
    __table_args__ = (
        Index(
            "ix_ticket_callback_pending",
            "due_at",
            postgresql_where=text("reminded_at IS NULL AND cancelled_at IS NULL"),
            sqlite_where=text("reminded_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    ticket_id: uuid.UUID = Field(index=True)
    assignee_id: str = Field(max_length=64)
    due_at: datetime = _timestamp()
    reminded_at: datetime | None = _timestamp(nullable=True)
    done_at: datetime | None = _timestamp(nullable=True)
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    cancelled_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp()


_team_version = Column("version", Integer, nullable=False, default=1)


class ServiceTeam(ServiceDeskModel, table=True):
    """A team of agents with its business-hours calendar, its supervisor (who receives the
    high-priority tickets) and how it hands out the others."""

    __tablename__ = "service_team"
    __mapper_args__ = {"version_id_col": _team_version}

    key: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    calendar_key: str = Field(default="default", max_length=40)
    supervisor_id: str | None = Field(default=None, max_length=64)
    strategy: str = Field(default="manual", max_length=16)
    updated_at: datetime = _timestamp()
    updated_by: str = Field(max_length=64)
    version: int = Field(default=1, sa_column=_team_version)


class Agent(ServiceDeskModel, table=True):
    """An agent of a team and the ticket types they handle (the automatic strategies pick
    among the active agents handling the ticket's type)."""

    __tablename__ = "service_agent"
    __table_args__ = (Index("ix_service_agent_team_active", "team_key", "active"),)

    user_id: str = Field(primary_key=True, max_length=64)
    team_key: str = Field(max_length=40)
    display_name: str = Field(max_length=100)
    ticket_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    last_assigned_at: datetime | None = _timestamp(nullable=True)
    updated_at: datetime = _timestamp()
