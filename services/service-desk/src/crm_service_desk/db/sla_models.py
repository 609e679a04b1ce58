"""The SLA configuration's tables: business-hours calendars and SLA targets (the migration
seeds the ``default`` calendar, 24x7, and the SPEC's default targets)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, UniqueConstraint
from sqlmodel import Field

from crm_platform.db import UtcDateTime
from crm_service_desk.db.registry import ServiceDeskModel

_calendar_version = Column("version", Integer, nullable=False, default=1)


class BusinessCalendarRow(ServiceDeskModel, table=True):
    """A calendar (工作日历) SLA clocks count business time in.

    ``weekly_hours``: ``{"mon": [["09:00", "18:00"]], …}`` (local times; "00:00" as an end is
    midnight); ``holidays`` and ``extra_workdays``: ``[{"date": "2026-10-01", "name": …}]``,
    sorted by date. Versioned: every UPDATE carries ``WHERE version = :read``.
    """

    __tablename__ = "business_calendar"
    __mapper_args__ = {"version_id_col": _calendar_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)
    timezone: str = Field(max_length=64)
    weekly_hours: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    holidays: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    extra_workdays: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    version: int = Field(default=1, sa_column=_calendar_version)
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_by: str = Field(max_length=64)


class SlaTargetRow(ServiceDeskModel, table=True):
    """One SLA rule. A null ``priority``/``ticket_type`` matches any; ``scope``
    (``"<priority or *>/<type or *>"``) makes (priority, ticket_type) unique with null counted
    as a value, on PostgreSQL and SQLite alike. A null duration leaves that clock to a less
    specific rule."""

    __tablename__ = "sla_target"
    __table_args__ = (UniqueConstraint("scope", name="uq_sla_target_scope"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    scope: str = Field(max_length=40)
    priority: str | None = Field(default=None, max_length=16)
    ticket_type: str | None = Field(default=None, max_length=16)
    assign_minutes: int | None = None
    first_response_minutes: int | None = None
    resolve_minutes: int | None = None
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_by: str = Field(max_length=64)


def target_scope(priority: str | None, ticket_type: str | None) -> str:
    return f"{priority or '*'}/{ticket_type or '*'}"
