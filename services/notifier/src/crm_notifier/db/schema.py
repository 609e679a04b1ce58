"""The schema the migrations manage: the platform's tables this service uses plus its own."""

from crm_notifier.db import models, partner_models, template_models, webhook_models
from crm_notifier.db.registry import NotifierModel
from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage
from crm_platform.idempotency import IdempotencyRecord

TABLE_MODULES = (models, template_models, webhook_models, partner_models)
METADATA = [
    platform_tables(OutboxMessage, InboxMessage, IdempotencyRecord),
    NotifierModel.metadata,
]
