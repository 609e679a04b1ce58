"""The schema the migrations manage: the platform's tables this service uses plus its own."""

from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage
from crm_platform.idempotency import IdempotencyRecord
from crm_service_desk.db import kb_models, models, sla_models, ticket_models
from crm_service_desk.db.registry import ServiceDeskModel

TABLE_MODULES = (kb_models, models, sla_models, ticket_models)
METADATA = [
    platform_tables(OutboxMessage, InboxMessage, IdempotencyRecord),
    ServiceDeskModel.metadata,
]
