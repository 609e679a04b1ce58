"""The sales pipeline's tables: opportunities, their stage history and the per-customer
serial counter their codes are numbered from."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlmodel import Field

from crm_engagement.db.registry import EngagementModel
from crm_platform.db import UtcDateTime

MONEY = Numeric(14, 2)


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


def _money(*, nullable: bool) -> Any:
    return Field(default=None if nullable else ..., sa_column=Column(MONEY, nullable=nullable))


_opportunity_version = Column("version", Integer, nullable=False, default=1)


class Opportunity(EngagementModel, table=True):
    """A sales opportunity (销售机会) of one customer."""

    __tablename__ = "opportunity"
    __table_args__ = (
        UniqueConstraint("customer_id", "serial", name="uq_opportunity_customer_serial"),
        # The pipeline analytics' filters: by owner and period (created or closed).
        Index("ix_opportunity_owner_created", "owner_id", "created_at"),
        Index("ix_opportunity_closed_at", "closed_at"),
        Index("ix_opportunity_stage_close_on", "stage", "expected_close_on"),
    )
    __mapper_args__ = {"version_id_col": _opportunity_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    customer_id: uuid.UUID = Field(index=True)
    serial: int
    name: str = Field(max_length=200)
    expected_amount: Decimal = _money(nullable=False)
    expected_close_on: date | None = None
    stage: str = Field(max_length=20)
    probability: int
    competitors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    strengths: str | None = Field(default=None, sa_column=Column(Text))
    weaknesses: str | None = Field(default=None, sa_column=Column(Text))
    owner_id: str = Field(max_length=64)
    evaluated_on: date | None = None
    actual_amount: Decimal | None = _money(nullable=True)
    contract_number: str | None = Field(default=None, max_length=64)
    lost_reason: str | None = Field(default=None, max_length=20)
    lost_detail: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str = Field(max_length=64)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()
    closed_at: datetime | None = _timestamp(nullable=True)
    version: int = Field(default=1, sa_column=_opportunity_version)


class OpportunitySerial(EngagementModel, table=True):
    """The last opportunity serial taken per customer: one upsert numbers a new opportunity,
    and the row lock it takes serialises concurrent creates for the same customer only."""

    __tablename__ = "opportunity_serial"

    customer_id: uuid.UUID = Field(primary_key=True)
    last_serial: int


class OpportunityStageChange(EngagementModel, table=True):
    """One step of an opportunity's history; its creation is the first (``from_stage`` null)."""

    __tablename__ = "opportunity_stage_change"
    __table_args__ = (Index("ix_opportunity_stage_change_opp", "opportunity_id", "changed_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    opportunity_id: uuid.UUID
    from_stage: str | None = Field(default=None, sa_column=Column(String(20)))
    to_stage: str = Field(max_length=20)
    note: str = Field(sa_column=Column(Text, nullable=False))
    changed_by: str = Field(max_length=64)
    changed_at: datetime = _timestamp()
    expected_amount: Decimal = _money(nullable=False)
    probability: int
    actual_amount: Decimal | None = _money(nullable=True)
    contract_number: str | None = Field(default=None, max_length=64)
    lost_reason: str | None = Field(default=None, max_length=20)
    lost_detail: str | None = Field(default=None, sa_column=Column(Text))
