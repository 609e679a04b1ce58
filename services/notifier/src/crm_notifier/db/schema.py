"""The schema the migrations manage: the platform's tables this service uses plus its own."""

from crm_notifier.db import partner_models
from crm_notifier.db.registry import NotifierModel
from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage

TABLE_MODULES = (partner_models,)
METADATA = [platform_tables(OutboxMessage, InboxMessage), NotifierModel.metadata]
