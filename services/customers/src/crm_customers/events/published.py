"""Events the customers service publishes, and their payloads (owned here)."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from crm_platform.events import PublishedEvents

SERVICE = "customers"

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_LIFECYCLE_CHANGED = "customer.lifecycle_changed"
CUSTOMER_ARCHIVED = "customer.archived"
CUSTOMER_RESTORED = "customer.restored"
CUSTOMER_SENSITIVE_READ = "customer.sensitive_read"
CONTACT_CHANGED = "contact.changed"
CUSTOMER_GRADED = "customer.graded"
CUSTOMER_REVIEWED = "customer.reviewed"
CUSTOMER_OWNER_CHANGED = "customer.owner_changed"
CUSTOMER_MERGED = "customer.merged"
CHANGE_REQUEST_CREATED = "change_request.created"
CHANGE_REQUEST_APPROVED = "change_request.approved"
CHANGE_REQUEST_REJECTED = "change_request.rejected"
CHANGE_REQUEST_WITHDRAWN = "change_request.withdrawn"


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


class OwnerChanged(BaseModel):
    """One customer of an owner transfer; replicas re-assign whatever follows the owner."""

    customer: CustomerSnapshot
    previous_owner_id: str
    owner_id: str
    reason: str | None = None
    transfer_id: str


class CustomerMerged(BaseModel):
    """``source_id`` was merged into the customer of the snapshot: re-point its records."""

    customer: CustomerSnapshot
    source_id: str
    source_code: str
    moved_contact_ids: list[str]


class ChangeRequestSnapshot(BaseModel):
    """A change request to key fields of a won customer, as it stands after the change."""

    id: str
    customer_id: str
    customer_code: str
    customer_name: str
    owner_id: str
    changes: dict[str, Any]
    previous: dict[str, Any]
    requested_by: str
    reason: str | None = None
    status: Literal["pending", "approved", "rejected", "withdrawn"]
    decided_by: str | None = None
    decision_reason: str | None = None
    version: int


class CustomerGraded(BaseModel):
    """An evaluation (客户关系评估表) set the customer's grade; ``total`` is 0..100, 2 places."""

    customer: CustomerSnapshot
    evaluation_id: str
    total: Decimal
    grade: str
    previous_grade: str | None = None
    recommendation: Literal["improve", "maintain", "terminate"]
    evaluated_at: datetime


class CustomerReviewed(BaseModel):
    """The quarterly review (seed 002) of a customer: activity status confirmed or changed."""

    customer: CustomerSnapshot
    quarter: str
    previous_activity_status: str
    activity_status: str
    note: str | None = None
    reviewed_at: datetime


PAYLOADS: dict[str, type[BaseModel]] = {
    CUSTOMER_CREATED: CustomerSnapshot,
    CUSTOMER_UPDATED: CustomerSnapshot,
    CUSTOMER_LIFECYCLE_CHANGED: LifecycleChanged,
    CUSTOMER_ARCHIVED: CustomerSnapshot,
    CUSTOMER_RESTORED: CustomerSnapshot,
    CUSTOMER_SENSITIVE_READ: SensitiveRead,
    CONTACT_CHANGED: ContactSnapshot,
    CUSTOMER_GRADED: CustomerGraded,
    CUSTOMER_REVIEWED: CustomerReviewed,
    CUSTOMER_OWNER_CHANGED: OwnerChanged,
    CUSTOMER_MERGED: CustomerMerged,
    CHANGE_REQUEST_CREATED: ChangeRequestSnapshot,
    CHANGE_REQUEST_APPROVED: ChangeRequestSnapshot,
    CHANGE_REQUEST_REJECTED: ChangeRequestSnapshot,
    CHANGE_REQUEST_WITHDRAWN: ChangeRequestSnapshot,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED = PublishedEvents(SERVICE, PAYLOADS)
PUBLISHED_TYPES = PUBLISHED.types
build_event = PUBLISHED.build
