"""Partner webhooks' tables: the subscriptions (where to, which events, the signing secret
encrypted at rest) and their deliveries (one per subscription and event, with every attempt)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlmodel import Field

from crm_notifier.db.registry import NotifierModel
from crm_platform.db import UtcDateTime


def _timestamp(*, nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ..., sa_column=Column(UtcDateTime(), nullable=nullable)
    )


_subscription_version = Column("version", Integer, nullable=False, default=1)


class WebhookSubscription(NotifierModel, table=True):
    """A partner's endpoint: the events it wants (topic patterns on routing keys) and the
    secret its deliveries are signed with (Standard Webhooks, ``whsec_…``), encrypted with
    the data key. Disabled after sustained failure (``disabled_at``, ``disabled_reason``)."""

    __tablename__ = "webhook_subscription"
    __mapper_args__ = {"version_id_col": _subscription_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner: str = Field(max_length=100)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    secret_ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = True
    disabled_at: datetime | None = _timestamp(nullable=True)
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text))
    # Failed attempts in a row (any of its deliveries) and when the run of failures began;
    # a delivered attempt resets both.
    consecutive_failures: int = 0
    first_failure_at: datetime | None = _timestamp(nullable=True)
    created_by: str = Field(max_length=64, index=True)
    created_at: datetime = _timestamp()
    updated_by: str = Field(max_length=64)
    updated_at: datetime = _timestamp()
    version: int = Field(default=1, sa_column=_subscription_version)


class WebhookDelivery(NotifierModel, table=True):
    """One event for one subscription; its id is the ``webhook-id`` header (the same on every
    attempt and replay, for the receiver to drop duplicates). Pending until delivered (2xx)
    or failed (``last_error``, after the last attempt); ``log`` holds every attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # One delivery per subscription and event, however often the event is redelivered.
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_delivery_listing", "subscription_id", "created_at"),
        # The dispatcher's range: deliveries still to attempt, by when.
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("webhook_subscription.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_id: uuid.UUID
    event_type: str = Field(max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=12)  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = _timestamp()
    claimed_until: datetime | None = _timestamp(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    response_status: int | None = None
    delivered_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp()
    log: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
