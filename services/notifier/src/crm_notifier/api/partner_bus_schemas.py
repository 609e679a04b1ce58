"""Request and response bodies of the partners' queues on the bus."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_notifier.db.partner_models import PartnerBusSubscription
from crm_notifier.domain.partner_bus import MAX_PATTERNS, ProvisionedPartnerQueue
from crm_notifier.domain.partner_bus_commands import ProvisionPartnerQueue

Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40),
    Field(description="The partner's slug: lower-case letters, digits, hyphens (acme-logistics)"),
]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PartnerQueueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner: Slug
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    patterns: list[Pattern] = Field(
        min_length=1,
        max_length=MAX_PATTERNS,
        description="Event-type topic patterns the queue is bound with: ticket.*, customer.#, "
        "customer.created",
    )

    def command(self) -> ProvisionPartnerQueue:
        return ProvisionPartnerQueue(
            partner=self.partner, display_name=self.display_name, patterns=tuple(self.patterns)
        )


class PartnerQueueOut(BaseModel):
    id: uuid.UUID
    partner: str
    display_name: str
    queue: str
    username: str
    vhost: str
    exchange: str
    patterns: list[str]
    status: Literal["active", "revoked"]
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    queue_deleted: bool

    @classmethod
    def of(cls, subscription: PartnerBusSubscription) -> "PartnerQueueOut":
        return cls.model_validate(subscription, from_attributes=True)


class PartnerQueueProvisioned(BaseModel):
    """The answer of a provisioning: the only time the password is shown."""

    partner: str
    queue: str
    username: str
    password: str = Field(description="Shown this once, never stored: hand it to the partner")
    vhost: str
    amqp_url_hint: str = Field(description="Where to connect; put the password in its place")
    patterns: list[str]
    exchange: str

    @classmethod
    def of(cls, provisioned: ProvisionedPartnerQueue) -> "PartnerQueueProvisioned":
        subscription = provisioned.subscription
        return cls(
            partner=subscription.partner,
            queue=subscription.queue,
            username=subscription.username,
            password=provisioned.password,
            vhost=subscription.vhost,
            amqp_url_hint=provisioned.amqp_url_hint,
            patterns=subscription.patterns,
            exchange=subscription.exchange,
        )
