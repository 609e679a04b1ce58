"""Events the service-desk service consumes (tolerant reader: only the fields it needs)."""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import stage_upsert_if_newer
from crm_platform.events import CloudEvent
from crm_service_desk.db.models import CustomerReplica
from crm_service_desk.domain import teams


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


class UserState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    display_name: str
    roles: list[str] = []
    active: bool = True


async def follow_user(session: AsyncSession, event: CloudEvent) -> None:
    """``user.created``/``updated``/``disabled`` keep the agents in step (``teams.follow_user``)."""
    user = UserState.model_validate(event.data)
    facts = teams.UserFacts(
        user_id=user.id,
        display_name=user.display_name,
        roles=frozenset(user.roles),
        active=user.active and event.type != "crm.user.disabled",
    )
    await teams.follow_user(session, facts, datetime.now(UTC))


REPLICATED_FROM = (
    "customer.created",
    "customer.updated",
    "customer.owner_changed",
    "customer.archived",
    "customer.restored",
)
USER_EVENTS = ("user.created", "user.updated", "user.disabled")
HANDLERS = {
    **dict.fromkeys(REPLICATED_FROM, replicate_customer),
    **dict.fromkeys(USER_EVENTS, follow_user),
}
