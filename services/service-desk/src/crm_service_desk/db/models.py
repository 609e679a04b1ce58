"""Tables owned by the service-desk service (plus the platform's outbox and inbox)."""

import uuid
from datetime import datetime

from sqlalchemy import Column, false
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from crm_platform.db import UtcDateTime, platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage


class ServiceDeskModel(SQLModel, registry=registry()):
    """Base of this service's tables: its own metadata, never shared with another service."""


METADATA = [platform_tables(OutboxMessage, InboxMessage), ServiceDeskModel.metadata]
"""The schema migrations manage: the platform's outbox and inbox plus this service's tables."""


class CustomerReplica(ServiceDeskModel, table=True):
    """What this service knows of a customer, kept current from the customers' events."""

    __tablename__ = "customer_replica"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(max_length=32, index=True)
    name: str = Field(max_length=200)
    owner_id: str = Field(max_length=64, index=True)
    grade: str | None = Field(default=None, max_length=4)
    lifecycle: str = Field(max_length=16)
    # Archived customers (merged ones too) stay here for history but take no new work.
    archived: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    source_version: int = 0
    source_event_time: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    replicated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
