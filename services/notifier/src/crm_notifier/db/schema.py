"""Tables owned by the notifier service (for now the platform's outbox and inbox)."""

from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage

METADATA = [platform_tables(OutboxMessage, InboxMessage)]
"""The schema migrations manage (only the platform's tables so far)."""
