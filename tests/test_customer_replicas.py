"""The customer replica engagement and service-desk each keep from the customers' events: the
same contract for both consumers, so one copy of each scenario runs against each service.

Through the real broker, on the running app: each event type lands, a redelivery is a no-op,
and an event it cannot read is parked rather than lost or half-applied. At the handlers: the
upserts are staged writes sent at commit with the rest of a consumer batch, and the replica
still ends at the newest state whatever the order of the events, in one batch or across
several, while a rolled-back batch leaves nothing behind.
"""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

import crm_engagement.__main__
import crm_engagement.db.models
import crm_engagement.events.handlers
import crm_engagement.main
import crm_engagement.settings
import crm_service_desk.__main__
import crm_service_desk.db.models
import crm_service_desk.events.handlers
import crm_service_desk.main
import crm_service_desk.settings
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent
from crm_platform.identity import SYSTEM_ROLE
from crm_platform.testing import (
    Publish,
    bearer,
    event_publisher,
    events_consumed,
    fetch,
    isolated_consumer_settings,
    running_app,
    wait_until,
)

INTERNAL_TOKEN_SECRET = "replica-tests-internal-token-secret-0123456789"


@dataclass(frozen=True)
class ReplicaService:
    name: str
    migrations: Path
    settings_class: Any
    create_app: Any
    replica_model: Any
    handlers: dict[str, Any]


SERVICES = {
    "engagement": ReplicaService(
        "engagement",
        crm_engagement.__main__.MIGRATIONS_DIR,
        crm_engagement.settings.Settings,
        crm_engagement.main.create_app,
        crm_engagement.db.models.CustomerReplica,
        crm_engagement.events.handlers.HANDLERS,
    ),
    "service-desk": ReplicaService(
        "service-desk",
        crm_service_desk.__main__.MIGRATIONS_DIR,
        crm_service_desk.settings.Settings,
        crm_service_desk.main.create_app,
        crm_service_desk.db.models.CustomerReplica,
        crm_service_desk.events.handlers.HANDLERS,
    ),
}


@pytest.fixture(params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> ReplicaService:
    return SERVICES[request.param]


@pytest.fixture
async def database_url(database_factory, service: ReplicaService) -> str:
    url = await database_factory(service.name, migrations=service.migrations)
    return url


@pytest.fixture
def settings(database_url: str, amqp_url: str, service: ReplicaService) -> Any:
    return service.settings_class(
        **isolated_consumer_settings(
            service.name,
            database_url=database_url,
            amqp_url=amqp_url,
            internal_token_secret=INTERNAL_TOKEN_SECRET,
        )
    )


@pytest.fixture
async def client(settings: Any, service: ReplicaService) -> AsyncIterator[httpx.AsyncClient]:
    """The running app, HTTP API and consumer (its queues deleted afterwards)."""
    async with running_app(service.create_app(settings), f"http://{service.name}") as client:
        yield client


@pytest.fixture
async def publish(settings: Any, client: httpx.AsyncClient) -> AsyncIterator[Publish]:
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        yield publish


async def replica_row(settings: Any, customer_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await fetch(
        settings.database_url, "SELECT * FROM customer_replica WHERE id = $1", customer_id
    )
    return dict(rows[0]) if rows else None


async def inbox_ids(settings: Any) -> list[uuid.UUID]:
    rows = await fetch(settings.database_url, "SELECT id FROM inbox_message ORDER BY received_at")
    return [row["id"] for row in rows]


# --------------------------------------------------------------------------- through the broker


def snapshot(customer_id: uuid.UUID, version: int, **changes: Any) -> dict[str, Any]:
    """A customer's state as the customers service publishes it (more than the replica keeps)."""
    return {
        "id": str(customer_id),
        "code": "ABC2026001",
        "kind": "enterprise",
        "name": "上海星辰科技有限公司",
        "industry": "it",
        "lifecycle": "prospect",
        "activity_status": "active",
        "grade": None,
        "owner_id": "rep-1",
        "tags": ["重点"],
        "review_status": "approved",
        "archived": False,
        "version": version,
        **changes,
    }


def customer_event(routing_key: str, data: dict[str, Any]) -> CloudEvent:
    state = data.get("customer", data)
    return CloudEvent.new(
        service="customers", routing_key=routing_key, subject=state["id"], data=data, actor="u-1"
    )


REPLICATED_FIELDS = ("code", "name", "owner_id", "lifecycle", "grade", "archived")


async def test_each_customer_event_brings_the_replica_to_the_state_it_carries(
    settings, client, publish
) -> None:
    customer_id = uuid.uuid4()
    renamed = {"name": "上海星辰智能科技有限公司", "lifecycle": "intent", "grade": "A"}
    moved = {**renamed, "owner_id": "rep-2"}
    steps = [
        ("customer.created", snapshot(customer_id, 1)),
        ("customer.updated", snapshot(customer_id, 2, **renamed)),
        (
            "customer.owner_changed",  # the state nested under ``customer``
            {
                "customer": snapshot(customer_id, 3, **moved),
                "previous_owner_id": "rep-1",
                "owner_id": "rep-2",
                "reason": "离职交接",
                "transfer_id": str(uuid.uuid4()),
            },
        ),
        ("customer.archived", snapshot(customer_id, 4, **moved, archived=True)),
        ("customer.restored", snapshot(customer_id, 5, **moved)),
    ]
    for routing_key, data in steps:
        event = customer_event(routing_key, data)
        state = data.get("customer", data)
        await publish(event)

        async def replicated(version: int = state["version"]) -> dict[str, Any] | None:
            row = await replica_row(settings, customer_id)
            return row if row and row["source_version"] == version else None

        row = await wait_until(replicated, timeout=10, message=f"{routing_key} in the replica")
        assert {k: row[k] for k in REPLICATED_FIELDS} == {k: state[k] for k in REPLICATED_FIELDS}, (
            routing_key
        )
        assert row["source_event_time"] == event.time


async def test_a_redelivered_event_changes_nothing(settings, client, publish) -> None:
    customer_id = uuid.uuid4()
    created = customer_event("customer.created", snapshot(customer_id, 1))
    await publish(created)
    before = await wait_until(lambda: replica_row(settings, customer_id), message="the replica")
    duplicates = await events_consumed(client, "customer.created", "duplicate")

    await publish(created)  # the very same message again, as the broker redelivers it
    # A copy under the same id carrying a newer state: the version alone would let it in, so
    # only the inbox (which goes by id) keeps it out. It shows the handler did not run again.
    newer = created.model_copy(update={"data": snapshot(customer_id, 7, name="不应出现")})
    await publish(created, body=newer.to_bytes())

    async def both_seen() -> bool:
        return await events_consumed(client, "customer.created", "duplicate") >= duplicates + 2

    await wait_until(both_seen, timeout=10, message="both copies to be counted as duplicates")
    assert await replica_row(settings, customer_id) == before  # replicated_at included
    assert await inbox_ids(settings) == [created.id]


async def test_a_customer_event_it_cannot_read_is_parked_with_its_error(
    settings, client, publish
) -> None:
    customer_id = uuid.uuid4()
    unreadable = customer_event("customer.updated", {"id": str(customer_id), "name": "缺少编码"})
    await publish(unreadable)

    async def parked() -> list[dict[str, Any]]:
        response = await client.get(
            "/v1/admin/parked-events", headers=bearer(INTERNAL_TOKEN_SECRET, SYSTEM_ROLE)
        )
        assert response.status_code == 200, response.text
        return response.json()

    [entry] = await wait_until(parked, timeout=10, message="the unreadable event to be parked")
    assert entry["message_id"] == str(unreadable.id)
    assert entry["event_type"] == "crm.customer.updated"
    assert entry["attempts"] == settings.consumer_max_attempts
    assert "ValidationError" in entry["error"] and "owner_id" in entry["error"]
    assert await replica_row(settings, customer_id) is None
    assert await inbox_ids(settings) == []  # rolled back with the failed handler


# --------------------------------------------------------------------------- at the handlers


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


async def test_replica_ends_at_the_newest_state_in_any_order(
    database_url: str, service: ReplicaService
) -> None:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    first, second = uuid.uuid4(), uuid.uuid4()

    async def apply(*events: CloudEvent, rollback: bool = False) -> None:
        """One consumer batch: all handlers in one transaction."""
        with contextlib.suppress(Undo):
            async with sessionmaker() as session, session.begin():
                for event in events:
                    await service.handlers[event.routing_key](session, event)
                if rollback:
                    raise Undo

    async def replicas() -> dict[uuid.UUID, tuple[str, int]]:
        async with sessionmaker() as session:
            rows = (await session.execute(select(service.replica_model))).scalars().all()
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
