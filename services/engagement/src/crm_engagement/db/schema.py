"""The schema the migrations manage: the platform's tables this service uses plus its own."""

from crm_engagement.db import followup_models, models, opportunity_models
from crm_engagement.db.registry import EngagementModel
from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage
from crm_platform.idempotency import IdempotencyRecord

TABLE_MODULES = (models, followup_models, opportunity_models)
METADATA = [
    platform_tables(OutboxMessage, InboxMessage, IdempotencyRecord),
    EngagementModel.metadata,
]
