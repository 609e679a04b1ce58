"""Integration events: envelope, transactional outbox + relay, idempotent consumer."""

from crm_platform.events.envelope import CloudEvent, PublishedEvents
from crm_platform.events.outbox import add_event

__all__ = ["CloudEvent", "PublishedEvents", "add_event"]
