"""Events the notifier publishes, and their payloads (owned here)."""

from datetime import datetime

from pydantic import BaseModel

from crm_platform.events import PublishedEvents

SERVICE = "notifier"

NOTIFICATION_DELIVERED = "notification.delivered"
NOTIFICATION_FAILED = "notification.failed"


class DeliveryOutcome(BaseModel):
    """One delivery of a notification reached its end: ``delivered`` (the channel accepted
    it) or ``failed`` (``reason``, after ``attempts``). ``event_id`` is the event that caused
    it; ``recipient_kind`` ``user`` or ``contact``."""

    delivery_id: str
    notification_id: str
    kind: str
    channel: str
    recipient_kind: str
    recipient_id: str
    event_id: str | None = None
    event_type: str | None = None
    attempts: int
    reason: str | None = None
    at: datetime


PAYLOADS: dict[str, type[BaseModel]] = {
    NOTIFICATION_DELIVERED: DeliveryOutcome,
    NOTIFICATION_FAILED: DeliveryOutcome,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED = PublishedEvents(SERVICE, PAYLOADS)
PUBLISHED_TYPES = PUBLISHED.types
build_event = PUBLISHED.build
