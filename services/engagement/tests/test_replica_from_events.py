"""The running engagement service keeps its customer replica from the customers' events, as
they come through the real broker: each event type it subscribes to lands, a redelivery is a
no-op, and an event it cannot read is parked rather than lost or half-applied."""

import uuid
from typing import Any

from crm_platform.events import CloudEvent
from crm_platform.identity import SYSTEM_ROLE
from crm_platform.testing import wait_until

from .conftest import bearer, events_consumed, inbox_ids, replica_row


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
        response = await client.get("/v1/admin/parked-events", headers=bearer(SYSTEM_ROLE))
        assert response.status_code == 200, response.text
        return response.json()

    [entry] = await wait_until(parked, timeout=10, message="the unreadable event to be parked")
    assert entry["message_id"] == str(unreadable.id)
    assert entry["event_type"] == "crm.customer.updated"
    assert entry["attempts"] == settings.consumer_max_attempts
    assert "ValidationError" in entry["error"] and "owner_id" in entry["error"]
    assert await replica_row(settings, customer_id) is None
    assert await inbox_ids(settings) == []  # rolled back with the failed handler
