"""The schema the migrations manage: the platform's tables this service uses plus every table
module of the service (importing them registers their tables on the service's metadata)."""

from crm_customers.db import approval_models, grading_models, import_models, models
from crm_customers.db.registry import CustomersModel
from crm_platform.db import platform_tables
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage
from crm_platform.idempotency import IdempotencyRecord

TABLE_MODULES = (models, approval_models, grading_models, import_models)
METADATA = [
    platform_tables(OutboxMessage, InboxMessage, IdempotencyRecord),
    CustomersModel.metadata,
]
