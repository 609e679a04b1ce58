"""The idempotent consumer: redelivery, retries with delay, parking and replay."""

import asyncio
import uuid

import aio_pika

from crm_platform.events import CloudEvent
from crm_platform.events.broker import build_message, declare_exchange
from crm_platform.events.parking import list_parked, replay_parked
from crm_platform.testing import wait_until

from .conftest import FlakyError, record_effect


async def _publish_raw(bus, event: CloudEvent, times: int = 1) -> None:
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await declare_exchange(channel, bus.exchange)
        for _ in range(times):
            await exchange.publish(
                build_message(event.to_bytes(), message_id=str(event.id)), event.routing_key
            )


def _service() -> str:
    return f"probe-{uuid.uuid4().hex[:8]}"


async def test_redelivered_event_changes_nothing_the_second_time(bus) -> None:
    await bus.start_consumer(_service(), {"thing.happened": record_effect("applied")})
    event = CloudEvent.new(service="probe", routing_key="thing.happened", subject="1", data={})
    await _publish_raw(bus, event, times=3)
    await wait_until(bus.effects, message="first handling")
    await asyncio.sleep(0.5)
    assert [row.event_id for row in await bus.effects()] == [event.id]
    assert await bus.inbox_count() == 1


async def test_handler_failing_twice_then_succeeding_applies_once(bus) -> None:
    calls: list[int] = []
    effect = record_effect("applied")

    async def flaky(session, event) -> None:
        calls.append(1)
        await effect(session, event)  # written, then rolled back with the failure
        if len(calls) <= 2:
            raise FlakyError(f"failure {len(calls)}")

    await bus.start_consumer(_service(), {"thing.happened": flaky})
    await bus.stage("thing.happened", "x")
    bus.start_relay()
    await wait_until(bus.effects, timeout=10, message="the third attempt")
    await asyncio.sleep(0.5)
    assert len(calls) == 3
    assert len(await bus.effects()) == 1


async def test_poison_event_is_parked_with_its_error_while_others_flow(bus) -> None:
    service = _service()
    broken = {"on": True}
    good = record_effect("good")

    async def sometimes_broken(session, event) -> None:
        if broken["on"]:
            raise FlakyError("cannot handle this one")
        await record_effect("replayed")(session, event)

    await bus.start_consumer(service, {"poison.sent": sometimes_broken, "thing.happened": good})
    bus.start_relay()
    poison = await bus.stage("poison.sent", "p")
    for n in range(10):
        await bus.stage("thing.happened", f"ok{n}")
    await wait_until(lambda: _count(bus, "good", 10), message="the healthy events")

    parked = await wait_until(
        lambda: list_parked(bus.amqp_url, service), timeout=10, message="parking"
    )
    assert [p.message_id for p in parked] == [str(poison.id)]
    assert parked[0].attempts == 3
    assert "FlakyError: cannot handle this one" in (parked[0].error or "")
    assert parked[0].event_type == "crm.poison.sent"
    # Listing does not consume: the message is still parked.
    assert len(await list_parked(bus.amqp_url, service)) == 1

    broken["on"] = False
    assert await replay_parked(bus.amqp_url, service) == [str(poison.id)]
    await wait_until(lambda: _count(bus, "replayed", 1), message="the replayed event")
    assert await list_parked(bus.amqp_url, service) == []


async def test_unreadable_message_is_parked_at_once(bus) -> None:
    service = _service()
    await bus.start_consumer(service, {"thing.happened": record_effect("x")})
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await declare_exchange(channel, bus.exchange)
        await exchange.publish(build_message(b"{not json", message_id="junk"), "thing.happened")
    parked = await wait_until(lambda: list_parked(bus.amqp_url, service), message="parking")
    assert parked[0].message_id == "junk"
    assert parked[0].attempts == 1
    assert "unreadable envelope" in (parked[0].error or "")


async def _count(bus, note: str, expected: int) -> bool:
    return len(await bus.effects(note)) >= expected
