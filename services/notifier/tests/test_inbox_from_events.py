"""The running notifier records the events it receives in its inbox as they come through the
real broker, once each however often the broker delivers them, and receives every event
(partners may subscribe to any)."""

import uuid

from crm_platform.events import CloudEvent
from crm_platform.events.topology import unrouted_name
from crm_platform.testing import events_consumed, queue_depth, wait_until

from .conftest import inbox_rows


def customer_event(routing_key: str) -> CloudEvent:
    customer_id = str(uuid.uuid4())
    data = {
        "id": customer_id,
        "code": "ABC2026001",
        "name": "杭州云帆贸易有限公司",
        "owner_id": "u-rep-1",
        "version": 1,
    }
    return CloudEvent.new(
        service="customers", routing_key=routing_key, subject=customer_id, data=data, actor="u-1"
    )


async def test_a_created_customer_is_recorded_in_the_inbox(settings, client, publish) -> None:
    handled = await events_consumed(client, "customer.created", "handled")
    created = customer_event("customer.created")
    await publish(created)

    async def counted() -> bool:  # after the commit, so the inbox row is there by then
        return await events_consumed(client, "customer.created", "handled") > handled

    await wait_until(counted, timeout=10, message="the event to be handled")
    rows = await inbox_rows(settings)
    assert rows == [{"id": created.id, "type": created.type, "source": created.source}]
    assert await events_consumed(client, "customer.created", "handled") == handled + 1


async def test_a_redelivered_event_is_recorded_once(settings, client, publish) -> None:
    duplicates = await events_consumed(client, "customer.created", "duplicate")
    created = customer_event("customer.created")
    for _ in range(3):
        await publish(created)

    async def all_seen() -> bool:
        return await events_consumed(client, "customer.created", "duplicate") >= duplicates + 2

    await wait_until(all_seen, timeout=10, message="two copies to be counted as duplicates")
    assert [row["id"] for row in await inbox_rows(settings)] == [created.id]


async def test_it_receives_every_event_for_partners_to_subscribe_to(
    settings, client, publish
) -> None:
    """The notifier's queue is bound to every routing key: a partner may subscribe to any
    event, even one of a type no service consumed before."""
    novel = customer_event("customer.something_new")
    await publish(novel)
    rows = await wait_until(lambda: inbox_rows(settings), timeout=10, message="the inbox row")
    assert [row["type"] for row in rows] == ["crm.customer.something_new"]
    assert await queue_depth(settings.amqp_url, unrouted_name(settings.events_exchange)) == 0
