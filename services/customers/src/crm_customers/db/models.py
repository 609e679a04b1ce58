"""Tables owned by the customers service (plus the platform's outbox and inbox)."""

import uuid
from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.events.inbox import InboxMessage  # noqa: F401  (part of this schema)
from crm_platform.events.outbox import OutboxMessage  # noqa: F401  (part of this schema)


class CustomersModel(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, never shared with another service."""


METADATA = [SQLModel.metadata, CustomersModel.metadata]
"""The schema migrations manage: the platform's outbox and inbox plus this service's tables."""


class Customer(CustomersModel, table=True):
    __tablename__ = "customer"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=200, index=True)
    industry: str = Field(max_length=64, index=True)
    lifecycle: str = Field(max_length=16, index=True)
    owner_id: str = Field(max_length=64, index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = 1


class CodeSequence(CustomersModel, table=True):
    """Per-scope counters; incremented with an upsert so concurrent creates never collide."""

    __tablename__ = "code_sequence"

    scope: str = Field(primary_key=True, max_length=64)
    last_serial: int = 0
