"""Tables owned by the gateway (users, roles and API keys arrive with the identity issue)."""

from sqlmodel import SQLModel

from crm_platform.events.outbox import OutboxMessage  # noqa: F401  (part of this schema)

METADATA = [SQLModel.metadata]
"""The schema migrations manage (only the platform's tables so far)."""
