"""Tables owned by the engagement service."""

import uuid
from datetime import datetime

from sqlalchemy import Column, false
from sqlmodel import Field

from crm_engagement.db.registry import EngagementModel
from crm_platform.db import UtcDateTime


class CustomerReplica(EngagementModel, table=True):
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
