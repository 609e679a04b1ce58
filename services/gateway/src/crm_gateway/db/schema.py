"""The schema the migrations manage: the platform's tables the gateway uses (outbox for the
user events, inbox for the audit events it consumes, idempotency for creates) plus its own."""

from crm_gateway.db import models
from crm_gateway.db.registry import GatewayModel
from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage
from crm_platform.idempotency import IdempotencyRecord

TABLE_MODULES = (models,)
METADATA = [
    platform_tables(OutboxMessage, InboxMessage, IdempotencyRecord),
    GatewayModel.metadata,
]
