"""Events the service-desk service consumes (tolerant reader: only the fields it needs)."""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

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
    version: int = 0


async def on_customer_created(session: AsyncSession, event: CloudEvent) -> None:
    """Upsert the replica in one statement; an older state never overwrites a newer one."""
    state = CustomerState.model_validate(event.data)
    values = {
        "id": state.id,
        "code": state.code,
        "name": state.name,
        "owner_id": state.owner_id,
        "lifecycle": state.lifecycle,
        "grade": state.grade,
        "source_version": state.version,
        "source_event_time": event.time,
        "replicated_at": datetime.now(UTC),
    }
    table = CustomerReplica.__table__
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={k: statement.excluded[k] for k in values if k != "id"},
            where=table.c.source_version < statement.excluded.source_version,
        )
    )


HANDLERS = {"customer.created": on_customer_created}
