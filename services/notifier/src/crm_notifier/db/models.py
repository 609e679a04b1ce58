"""The notifier's own tables: who can be reached (replicas of users, contacts and customers,
kept from events), each person's preferences, and the notifications with their deliveries."""

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, false, text
from sqlmodel import Field

from crm_notifier.db.registry import NotifierModel
from crm_platform.db import UtcDateTime


def _timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


class UserReplica(NotifierModel, table=True):
    """A person who signs in (the gateway's user events): where to reach them."""

    __tablename__ = "user_replica"

    id: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=32)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    source_version: int = 0
    replicated_at: datetime = _timestamp()


class ContactReplica(NotifierModel, table=True):
    """A customer's contact (``contact.changed``): addresses and marketing consent."""

    __tablename__ = "contact_replica"
    __table_args__ = (Index("ix_contact_replica_customer_primary", "customer_id", "is_primary"),)

    id: uuid.UUID = Field(primary_key=True)
    customer_id: uuid.UUID
    name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=254)
    mobile: str | None = Field(default=None, max_length=32)
    is_primary: bool = False
    opt_out_email: bool = False
    opt_out_sms: bool = False
    opt_out_wechat: bool = False
    archived: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    source_version: int = 0
    replicated_at: datetime = _timestamp()


class CustomerReplica(NotifierModel, table=True):
    """A customer's code, name and owner (the customers' events)."""

    __tablename__ = "customer_replica"

    id: uuid.UUID = Field(primary_key=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    owner_id: str = Field(max_length=64, index=True)
    source_version: int = 0
    replicated_at: datetime = _timestamp()


class UserPreference(NotifierModel, table=True):
    """A person's channels and quiet hours (local times in ``timezone``; a window may span
    midnight, 22:00 to 07:00)."""

    __tablename__ = "user_preference"

    user_id: str = Field(primary_key=True, max_length=64)
    channels: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quiet_start: time | None = None
    quiet_end: time | None = None
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    locale: str = Field(default="zh-CN", max_length=10)
    updated_at: datetime = _timestamp()
    version: int = 1


class Notification(NotifierModel, table=True):
    """One message to one recipient about one event (or one admin's message); rendered once,
    delivered on each of its channels. The inbox is a person's notifications."""

    __tablename__ = "notification"
    __table_args__ = (
        # One notification of a kind per event and recipient, whatever the redeliveries.
        UniqueConstraint(
            "event_id", "kind", "recipient_kind", "recipient_id", name="uq_notification_event"
        ),
        Index("ix_notification_inbox", "recipient_kind", "recipient_id", "created_at"),
        Index(
            "ix_notification_unread",
            "recipient_id",
            postgresql_where=text("read_at IS NULL AND recipient_kind = 'user'"),
            sqlite_where=text("read_at IS NULL AND recipient_kind = 'user'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    event_id: uuid.UUID | None = None
    event_type: str | None = Field(default=None, max_length=100)
    kind: str = Field(max_length=32)
    category: str = Field(default="transactional", max_length=16)
    urgent: bool = False
    recipient_kind: str = Field(max_length=10)  # user | contact
    recipient_id: str = Field(max_length=64)
    locale: str = Field(default="zh-CN", max_length=10)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, max_length=2000)
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _timestamp()
    read_at: datetime | None = _timestamp(nullable=True)


class Delivery(NotifierModel, table=True):
    """A notification on one channel: pending until its moment (quiet hours, a retry's
    backoff), then delivered, failed (with the reason) or skipped (no address, opted out)."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_delivery_channel"),
        # The dispatcher's range: deliveries still to attempt, by when.
        Index(
            "ix_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    notification_id: uuid.UUID = Field(index=True)
    channel: str = Field(max_length=20)
    address: str | None = Field(default=None, max_length=2000)
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = _timestamp()
    claimed_until: datetime | None = _timestamp(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    delivered_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime = _timestamp()
    log: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
