"""Engagement's customer replica, kept by its handlers on PostgreSQL (moved here from the root
``tests/test_customer_replicas.py``).

The upserts are staged writes, sent at commit with the rest of a consumer batch: the replica
must still end at the newest state whatever the order of the events, in one batch or across
several, and a rolled-back batch must leave nothing behind.
"""

import asyncio
import contextlib
import uuid

from sqlalchemy import select

from crm_engagement.__main__ import MIGRATIONS_DIR
from crm_engagement.db.models import CustomerReplica
from crm_engagement.events.handlers import HANDLERS
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent
from crm_platform.migrations import upgrade


class Undo(Exception):
    pass


def _state(
    customer_id: uuid.UUID, version: int, routing_key: str = "customer.updated"
) -> CloudEvent:
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


async def test_replica_ends_at_the_newest_state_in_any_order(database_factory) -> None:
    url = await database_factory("engagement")
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    first, second = uuid.uuid4(), uuid.uuid4()

    async def apply(*events: CloudEvent, rollback: bool = False) -> None:
        """One consumer batch: all handlers in one transaction."""
        with contextlib.suppress(Undo):
            async with sessionmaker() as session, session.begin():
                for event in events:
                    await HANDLERS[event.routing_key](session, event)
                if rollback:
                    raise Undo

    async def replicas() -> dict[uuid.UUID, tuple[str, int]]:
        async with sessionmaker() as session:
            rows = (await session.execute(select(CustomerReplica))).scalars().all()
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
