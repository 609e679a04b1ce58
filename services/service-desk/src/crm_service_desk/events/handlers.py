"""Events the service-desk service consumes (tolerant reader: only the fields it needs)."""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import stage_upsert_if_newer
from crm_platform.events import CloudEvent
from crm_service_desk.db.models import CustomerReplica


class CustomerState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    code: str
    name: str
    owner_id: str
    lifecycle: str
    grade: str | None = None
    archived: bool = False
    version: int = 0


async def replicate_customer(session: AsyncSession, event: CloudEvent) -> None:
    """Upsert the replica (at commit, with the batch's other rows); an older state never
    overwrites a newer one.

    ``customer.created``/``updated``/``archived``/``restored`` carry the customer's state as
    ``data``; ``customer.owner_changed`` nests it under ``data.customer``.
    """
    state = CustomerState.model_validate(event.data.get("customer", event.data))
    values = {
        "id": state.id,
        "code": state.code,
        "name": state.name,
        "owner_id": state.owner_id,
        "lifecycle": state.lifecycle,
        "grade": state.grade,
        "archived": state.archived,
        "source_version": state.version,
        "source_event_time": event.time,
        "replicated_at": datetime.now(UTC),
    }
    stage_upsert_if_newer(session, CustomerReplica.__table__, values)


REPLICATED_FROM = (
    "customer.created",
    "customer.updated",
    "customer.owner_changed",
    "customer.archived",
    "customer.restored",
)
HANDLERS = dict.fromkeys(REPLICATED_FROM, replicate_customer)
