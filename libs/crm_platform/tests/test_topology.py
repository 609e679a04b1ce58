"""The broker topology, declared by the deploy step before anything publishes or consumes."""

import asyncio
import uuid

import aio_pika
import pytest

from crm_platform.events import CloudEvent
from crm_platform.events.broker import EventPublisher
from crm_platform.events.parking import list_parked
from crm_platform.events.topology import (
    ConsumerTopology,
    TopologyMismatch,
    declare_topology,
    unrouted_name,
)
from crm_platform.testing import queue_depth, wait_until

from .conftest import record_effect


def _service() -> str:
    return f"probe-{uuid.uuid4().hex[:8]}"


async def test_an_event_published_before_its_consumer_first_starts_reaches_it(bus) -> None:
    """``crm-<service> migrate`` declares the service's queue and bindings: an event sent
    between the deploy and the service's first start waits in its queue."""
    service = _service()
    await declare_topology(
        bus.amqp_url, bus.exchange, ConsumerTopology.of(service, ["thing.happened"], [150])
    )
    event = CloudEvent.new(service="probe", routing_key="thing.happened", subject="x", data={})
    await bus.publisher.publish(event.routing_key, event.to_bytes(), message_id=str(event.id))
    assert await bus.unrouted_count() == 0
    await bus.start_consumer(service, {"thing.happened": record_effect("h")}, retry_delays_ms=[150])
    await wait_until(bus.effects, message="the early event")
    assert [row.event_id for row in await bus.effects()] == [event.id]


async def test_a_message_redelivered_past_the_limit_is_parked_not_dropped(bus) -> None:
    """A delivery requeued again and again (a crash loop) is dead-lettered to parking by the
    broker itself once the main queue's delivery limit is reached."""
    service = _service()
    topology = ConsumerTopology.of(service, ["thing.happened"], [150], delivery_limit=2)
    await declare_topology(bus.amqp_url, bus.exchange, topology)
    event = CloudEvent.new(service="probe", routing_key="thing.happened", subject="x", data={})
    await bus.publisher.publish(event.routing_key, event.to_bytes(), message_id=str(event.id))
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.names.main, passive=True)
        for _ in range(4):
            message = await queue.get(timeout=5, fail=False)
            if message is None:
                break
            await message.nack(requeue=True)
    parked = await wait_until(lambda: list_parked(bus.amqp_url, service), message="parking")
    assert [p.message_id for p in parked] == [str(event.id)]
    assert "delivery_limit" in (parked[0].error or "")


async def test_an_exchange_declared_before_its_alternate_exchange_is_upgraded(amqp_url) -> None:
    exchange = f"crm.events.old.{uuid.uuid4().hex[:6]}"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    await declare_topology(amqp_url, exchange)
    publisher = EventPublisher(amqp_url, exchange)
    try:
        await publisher.publish("nobody.listens", b"{}", message_id="1")  # confirmed, kept
        assert await queue_depth(amqp_url, unrouted_name(exchange)) == 1
    finally:
        await publisher.close()
        async with await aio_pika.connect(amqp_url) as cleanup:
            channel = await cleanup.channel()
            await channel.queue_delete(unrouted_name(exchange))
            await channel.exchange_delete(exchange)
            await channel.exchange_delete(unrouted_name(exchange))


async def test_an_older_main_queue_is_recreated_only_when_empty(bus) -> None:
    service = _service()
    topology = ConsumerTopology.of(service, ["thing.happened"], [150])
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        old = await channel.declare_queue(
            topology.names.main, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await channel.default_exchange.publish(
            aio_pika.Message(b"waiting"), routing_key=topology.names.main
        )
    with pytest.raises(TopologyMismatch, match="holds 1 messages"):
        await declare_topology(bus.amqp_url, bus.exchange, topology)
    async with await aio_pika.connect(bus.amqp_url) as connection:
        channel = await connection.channel()
        old = await channel.declare_queue(topology.names.main, passive=True)
        await old.purge()
    await asyncio.sleep(0.2)
    await declare_topology(bus.amqp_url, bus.exchange, topology)  # empty now: re-created
    await declare_topology(bus.amqp_url, bus.exchange, topology)  # and idempotent
