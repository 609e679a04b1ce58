"""Engagement's and service-desk's customer replicas, kept from customer events on PostgreSQL.

Their upserts are staged writes, sent at commit with the rest of a consumer batch: the
replica must still end at the newest state whatever the order of the events, in one batch
or across several, and a rolled-back batch must leave nothing behind.
"""

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crm_engagement.__main__ import MIGRATIONS_DIR as ENGAGEMENT_MIGRATIONS
from crm_engagement.db.models import CustomerReplica as EngagementReplica
from crm_engagement.events.handlers import HANDLERS as ENGAGEMENT_HANDLERS
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent
from crm_platform.migrations import upgrade
from crm_service_desk.__main__ import MIGRATIONS_DIR as SERVICE_DESK_MIGRATIONS
from crm_service_desk.db.models import CustomerReplica as ServiceDeskReplica
from crm_service_desk.events.handlers import HANDLERS as SERVICE_DESK_HANDLERS

SERVICES = {
    "engagement": (ENGAGEMENT_MIGRATIONS, EngagementReplica, ENGAGEMENT_HANDLERS),
    "service-desk": (SERVICE_DESK_MIGRATIONS, ServiceDeskReplica, SERVICE_DESK_HANDLERS),
}


class Undo(Exception):
    pass


def _state(customer_id: uuid.UUID, version: int, routing_key: str = "customer.updated") -> Any:
    data = {
        "id": str(customer_id),
        "code": "ABC20260001",
        "name": f"Name at v{version}",
        "owner_id": f"rep-{version}",
        "lifecycle": "lead",
        "grade": None,
        "version": version,
    }
    if routing_key == "customer.owner_changed":
        data = {"customer": data, "from_owner": "rep-0"}
    return CloudEvent.new(
        service="customers", routing_key=routing_key, subject=str(customer_id), data=data
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
async def test_replica_ends_at_the_newest_state_in_any_order(database_factory, service) -> None:
    migrations, replica, handlers = SERVICES[service]
    url = await database_factory(service)
    await asyncio.to_thread(upgrade, Path(migrations), url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    first, second = uuid.uuid4(), uuid.uuid4()

    async def apply(*events: CloudEvent, rollback: bool = False) -> None:
        """One consumer batch: all handlers in one transaction."""
        with contextlib.suppress(Undo):
            async with sessionmaker() as session, session.begin():
                for event in events:
                    await handlers[event.routing_key](session, event)
                if rollback:
                    raise Undo

    async def replicas() -> dict[uuid.UUID, tuple[str, int]]:
        async with sessionmaker() as session:
            rows = (await session.execute(select(replica))).scalars().all()
            return {r.id: (r.owner_id, r.source_version) for r in rows}

    try:
        # One batch holding three states of one customer out of order, and another customer.
        await apply(
            _state(first, 2),
            _state(first, 3, "customer.owner_changed"),
            _state(first, 1, "customer.created"),
            _state(second, 1, "customer.created"),
        )
        assert await replicas() == {first: ("rep-3", 3), second: ("rep-1", 1)}

        await apply(_state(first, 2))  # a late, older state in a later batch
        await apply(_state(second, 9), rollback=True)  # a batch that rolls back
        assert await replicas() == {first: ("rep-3", 3), second: ("rep-1", 1)}

        await apply(_state(second, 4))
        assert await replicas() == {first: ("rep-3", 3), second: ("rep-4", 4)}
    finally:
        await engine.dispose()
