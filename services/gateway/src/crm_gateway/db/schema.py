"""Tables owned by the gateway (users, roles and API keys arrive with the identity issue)."""

from crm_platform.db import platform_tables
from crm_platform.events.outbox import OutboxMessage

METADATA = [platform_tables(OutboxMessage)]
"""The schema migrations manage (only the platform's tables so far)."""
