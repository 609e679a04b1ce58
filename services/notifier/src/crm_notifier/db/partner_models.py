"""Partners on the bus: each partner's own queue bound to the events exchange, and the broker
user that may only consume from it. The broker holds the queue, bindings and user; this table
records who provisioned them, for which patterns, and who revoked them. The user's password is
never stored: the provisioning answer shows it once."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field

from crm_notifier.db.registry import NotifierModel
from crm_platform.db import UtcDateTime

ACTIVE = "active"
REVOKED = "revoked"


class PartnerBusSubscription(NotifierModel, table=True):
    """One provisioning of a partner's queue and broker user, active until revoked. A partner
    has at most one active subscription (the partial unique index); revoked ones stay as
    history, and provisioning the partner again makes a new one."""

    __tablename__ = "partner_bus_subscription"
    __table_args__ = (
        Index(
            "uq_partner_bus_subscription_active",
            "partner",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner: str = Field(max_length=40, index=True)  # the slug: acme-logistics
    display_name: str = Field(max_length=100)
    queue: str = Field(max_length=64)  # partner.<slug>
    username: str = Field(max_length=64)  # the broker user
    vhost: str = Field(max_length=200)
    exchange: str = Field(max_length=200)
    patterns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ACTIVE, max_length=10)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    revoked_by: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    queue_deleted: bool = False
