"""Events the customers service publishes, and their payloads (owned here)."""

from typing import Literal

from pydantic import BaseModel

from crm_platform.events import CloudEvent

SERVICE = "customers"

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_LIFECYCLE_CHANGED = "customer.lifecycle_changed"
CUSTOMER_ARCHIVED = "customer.archived"
CUSTOMER_RESTORED = "customer.restored"
CUSTOMER_SENSITIVE_READ = "customer.sensitive_read"
CONTACT_CHANGED = "contact.changed"


class CustomerSnapshot(BaseModel):
    """The state other services replicate (event-carried state transfer); nothing sensitive."""

    id: str
    code: str
    kind: str
    name: str
    industry: str
    lifecycle: str
    activity_status: str
    grade: str | None = None
    owner_id: str
    tags: list[str]
    review_status: str
    archived: bool
    version: int


class LifecycleChanged(BaseModel):
    customer: CustomerSnapshot
    previous_lifecycle: str
    lifecycle: str
    reason: str
    cause_event_id: str | None = None


class SensitiveRead(BaseModel):
    """Audit: someone read a sensitive field unmasked."""

    customer_id: str
    fields: list[str]
    reader_id: str
    reader_roles: list[str]


class MarketingOptOut(BaseModel):
    email: bool
    sms: bool
    wechat: bool


class ContactSnapshot(BaseModel):
    id: str
    customer_id: str
    change: Literal["created", "updated", "archived"]
    name: str
    position: str | None
    mobile: str | None
    email: str | None
    wechat: str | None
    is_primary: bool
    marketing_opt_out: MarketingOptOut
    archived: bool
    version: int


PAYLOADS: dict[str, type[BaseModel]] = {
    CUSTOMER_CREATED: CustomerSnapshot,
    CUSTOMER_UPDATED: CustomerSnapshot,
    CUSTOMER_LIFECYCLE_CHANGED: LifecycleChanged,
    CUSTOMER_ARCHIVED: CustomerSnapshot,
    CUSTOMER_RESTORED: CustomerSnapshot,
    CUSTOMER_SENSITIVE_READ: SensitiveRead,
    CONTACT_CHANGED: ContactSnapshot,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED_TYPES = list(PAYLOADS)


def build_event(
    routing_key: str,
    payload: BaseModel,
    *,
    subject: str,
    actor: str,
    causation_id: str | None = None,
) -> CloudEvent:
    if not isinstance(payload, PAYLOADS[routing_key]):
        raise TypeError(f"{routing_key} carries {PAYLOADS[routing_key].__name__}")
    return CloudEvent.new(
        service=SERVICE,
        routing_key=routing_key,
        subject=subject,
        data=payload.model_dump(mode="json"),
        actor=actor,
        causation_id=causation_id,
    )
