"""Request and response bodies of the partner-webhook API. A subscription's secret is in an
answer only when it was just made: on create and on rotation."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_notifier.db.webhook_models import WebhookDelivery, WebhookSubscription
from crm_notifier.domain.webhook_commands import CreateSubscription
from crm_notifier.domain.webhooks import MAX_PATTERNS, PATTERN_REGEX, SubscriptionWithSecret
from crm_platform.http.patch import PatchBody

Partner = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    Field(examples=["https://partner.example.com/crm/webhooks"]),
]
Pattern = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PATTERN_REGEX),
    Field(examples=["ticket.*", "customer.#", "opportunity.won"]),
]
Patterns = Annotated[
    list[Pattern],
    Field(
        min_length=1,
        max_length=MAX_PATTERNS,
        description="Routing-key patterns: '*' one word, '#' zero or more words",
    ),
]
Version = Annotated[int, Field(ge=1, le=999_999_999)]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriptionCreate(Strict):
    partner: Partner = Field(description="Who receives (shown to admins)")
    url: Url = Field(description="https (http only in development); public addresses only")
    event_types: Patterns

    def command(self) -> CreateSubscription:
        return CreateSubscription(
            partner=self.partner, url=self.url, event_types=tuple(self.event_types)
        )


class SubscriptionPatch(PatchBody):
    partner: Partner | None = None
    url: Url | None = None
    event_types: Patterns | None = None
    active: bool | None = Field(
        default=None, description="false disables; true re-enables (its failures forgotten)"
    )
    version: Version | None = Field(default=None, description="Or send If-Match")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    partner: str
    url: str
    event_types: list[str]
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    consecutive_failures: int
    first_failure_at: datetime | None
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, subscription: WebhookSubscription) -> SubscriptionOut:
        return cls.model_validate(subscription, from_attributes=True)


class SubscriptionWithSecretOut(SubscriptionOut):
    secret: str | None = Field(
        description="The signing secret (whsec_…), shown this once: keep it. Null when a "
        "create is answered again for its Idempotency-Key; rotate the secret if it was lost."
    )

    @classmethod
    def of_created(
        cls, created: SubscriptionWithSecret, *, show_secret: bool = True
    ) -> SubscriptionWithSecretOut:
        return cls(
            **SubscriptionOut.of(created.subscription).model_dump(),
            secret=created.secret if show_secret else None,
        )


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    total: int
    page: int
    page_size: int


class DeliveryOut(BaseModel):
    id: uuid.UUID = Field(description="The webhook-id header of every attempt")
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    response_status: int | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[dict[str, Any]] = Field(
        description="Each attempt: attempt, at, status, error, ms (and replays: at, replay_by)"
    )
    payload: dict[str, Any] = Field(description="The CloudEvent sent as the request body")

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> DeliveryOut:
        return cls.model_validate(delivery, from_attributes=True)


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int
    page: int
    page_size: int
