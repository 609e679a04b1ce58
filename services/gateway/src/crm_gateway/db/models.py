"""Tables owned by the gateway (users, roles and API keys arrive with the identity issue)."""

from crm_platform.events.outbox import OutboxMessage  # noqa: F401  (part of this schema)
