"""Tables owned by the notifier service (for now the platform's outbox and inbox)."""

from sqlmodel import SQLModel

from crm_platform.events.inbox import InboxMessage  # noqa: F401  (part of this schema)
from crm_platform.events.outbox import OutboxMessage  # noqa: F401  (part of this schema)

METADATA = [SQLModel.metadata]
"""The schema migrations manage (only the platform's tables so far)."""
