"""The idempotent consumer: redelivery, retries with delay, parking and replay."""

import asyncio
import uuid

import aio_pika
from sqlalchemy import select

from crm_platform.events import CloudEvent
from crm_platform.events.broker import build_message, declare_exchange
from crm_platform.events.consumer import ATTEMPT_HEADER
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.parking import list_parked, replay_parked
from crm_platform.metrics import REGISTRY
from crm_platform.testing import event_publisher, wait_until

from .conftest import FlakyError, record_effect


def _service() -> str:
    return f"probe-{uuid.uuid4().hex[:8]}"


def _consumed(event_type: str, outcome: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "crm_events_consumed_total", {"type": event_type, "outcome": outcome}
        )
        or 0.0
    )


def _event(routing_key: str = "thing.happened", note: str = "", **data) -> CloudEvent:
    return CloudEvent.new(service="probe", routing_key=routing_key, subject=note, data=data)


async def test_redelivered_event_changes_nothing_the_second_time(bus) -> None:
    """Copies that arrive after the first handling committed (not in the same batch)."""
    await bus.start_consumer(_service(), {"thing.happened": record_effect("applied")})
    event = CloudEvent.new(service="probe", routing_key="thing.happened", subject="1", data={})
    duplicates_before = _consumed("thing.happened", "duplicate")
    await bus.publish([event])
    await wait_until(bus.effects, message="first handling")
    for _ in range(2):
        await bus.publish([event])
        await asyncio.sleep(0.3)  # each copy on its own, in a batch of its own
    await wait_until(
        lambda: asyncio.sleep(
            0, result=_consumed("thing.happened", "duplicate") >= 2 + duplicates_before
        ),
        message="both copies seen as duplicates",
    )
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
    assert (await replay_parked(bus.amqp_url, service)).replayed == [str(poison.id)]
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


class HeldFirst:
    """A handler recording ``note`` that holds its first event until released, so the
    deliveries that arrive meanwhile wait in the consumer's buffer."""

    def __init__(self, note: str) -> None:
        self.first_call, self.release = asyncio.Event(), asyncio.Event()
        self._effect = record_effect(note)

    async def __call__(self, session, event) -> None:
        if not self.first_call.is_set():
            self.first_call.set()
            await self.release.wait()
        await self._effect(session, event)


async def test_events_arriving_together_share_one_transaction(bus) -> None:
    """While a batch is being handled the next deliveries queue up and go in one commit."""
    held_first = HeldFirst("batched")
    await bus.start_consumer(
        _service(), {"thing.happened": held_first}, workers=1, batch_size=32, prefetch=64
    )
    events = [
        CloudEvent.new(service="probe", routing_key="thing.happened", subject=str(n), data={})
        for n in range(40)
    ]
    await bus.publish(events)
    await asyncio.wait_for(held_first.first_call.wait(), 10)
    await asyncio.sleep(0.5)  # the broker pushes the rest (prefetch 64) into the buffer
    held_first.release.set()
    await wait_until(lambda: _count(bus, "batched", 40), message="all 40 handled")
    assert sorted(row.event_id for row in await bus.effects()) == sorted(e.id for e in events)
    async with bus.sessionmaker() as session:
        stamps = (await session.execute(select(InboxMessage.received_at))).scalars().all()
    # One transaction stamps its whole batch: the first alone, then 32, then 7.
    assert len(stamps) == 40
    assert len(set(stamps)) == 3


async def test_a_batch_ack_never_settles_another_workers_delivery(bus) -> None:
    """A batch is settled by one ack of its last delivery with ``multiple``: that must not
    settle an earlier delivery another worker still holds, or a crash would lose it."""
    service = _service()
    applied = record_effect("applied")

    async def hold_one(session, event) -> None:
        if event.data.get("hold"):
            await asyncio.Event().wait()  # never commits while this consumer lives
        await applied(session, event)

    first = await bus.start_consumer(
        service, {"thing.happened": hold_one}, workers=2, batch_size=32, prefetch=64
    )
    held = CloudEvent.new(
        service="probe", routing_key="thing.happened", subject="held", data={"hold": True}
    )
    others = [
        CloudEvent.new(service="probe", routing_key="thing.happened", subject=str(n), data={})
        for n in range(10)
    ]
    await bus.publish([held])
    await asyncio.sleep(0.3)  # the held event is being handled by one worker
    await bus.publish(others)  # the other worker takes its share and acks it
    await wait_until(lambda: _count(bus, "applied", 5), message="the free worker's share")
    await asyncio.sleep(0.3)

    first.stop()  # a crash of the held worker: whatever it had not acked comes back
    await asyncio.sleep(0.5)
    await bus.start_consumer(service, {"thing.happened": applied}, workers=2)
    await wait_until(lambda: _count(bus, "applied", 11), message="all 11 applied")
    applied_ids = [row.event_id for row in await bus.effects("applied")]
    assert sorted(applied_ids) == sorted(e.id for e in [held, *others])


async def test_a_failing_event_in_a_batch_costs_the_others_nothing(bus) -> None:
    """The batch rolls back and is handled one by one: each good event applies once."""
    held_good = HeldFirst("good")

    async def always_fails(session, event) -> None:
        await record_effect("poison")(session, event)  # rolled back with the failure
        raise FlakyError("never works")

    service = _service()
    await bus.start_consumer(
        service, {"thing.happened": held_good, "poison.sent": always_fails}, workers=1
    )
    head = CloudEvent.new(service="probe", routing_key="thing.happened", subject="h", data={})
    await bus.publish([head])
    await asyncio.wait_for(held_good.first_call.wait(), 10)
    batch = [
        CloudEvent.new(service="probe", routing_key="thing.happened", subject=str(n), data={})
        for n in range(5)
    ]
    poison = CloudEvent.new(service="probe", routing_key="poison.sent", subject="p", data={})
    await bus.publish([*batch[:2], poison, *batch[2:]])
    await asyncio.sleep(0.5)  # all six wait in the buffer: they make one batch
    held_good.release.set()
    parked = await wait_until(
        lambda: list_parked(bus.amqp_url, service), timeout=10, message="parking"
    )
    assert [p.message_id for p in parked] == [str(poison.id)]
    effects = await bus.effects()
    assert sorted(row.event_id for row in effects) == sorted(e.id for e in [head, *batch])
    assert await bus.inbox_count() == 6


async def test_a_delivery_with_a_garbled_attempt_header_costs_its_batch_nothing(bus) -> None:
    """An exception while reading one delivery used to escape the batch: none of it was
    handled, and the next batch's ``multiple`` ack settled it all."""
    held = HeldFirst("applied")
    service = _service()
    await bus.start_consumer(service, {"thing.happened": held}, workers=1)
    head = _event(note="head")
    await bus.publish([head])
    await asyncio.wait_for(held.first_call.wait(), 10)
    garbled = _event(note="garbled")
    batch = [_event(note=str(n)) for n in range(4)]
    async with event_publisher(bus.amqp_url, bus.exchange) as publish:
        await publish(batch[0])
        await publish(garbled, headers={ATTEMPT_HEADER: "abc"})
        for event in batch[1:]:
            await publish(event)
    await asyncio.sleep(0.5)  # all five wait in the buffer: they make one batch
    held.release.set()
    await wait_until(lambda: _count(bus, "applied", 6), message="all six applied")
    applied = sorted(row.event_id for row in await bus.effects("applied"))
    assert applied == sorted(e.id for e in [head, garbled, *batch])


async def test_a_retry_tier_that_vanished_loses_nothing(bus) -> None:
    """Moving a failed event to a missing retry queue is returned by the broker: the event
    is requeued (not acked as moved), the topology declared again, and it is retried."""
    calls: list[int] = []
    applied = record_effect("applied")

    async def fails_once(session, event) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise FlakyError("first try fails")
        await applied(session, event)

    consumer = await bus.start_consumer(_service(), {"thing.happened": fails_once})
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel()
        for delay in (150, 300):
            await channel.queue_delete(consumer.names.retry(delay))
    event = _event(note="retried")
    await bus.publish([event])
    await wait_until(lambda: _count(bus, "applied", 1), timeout=15, message="the retried event")
    assert [row.event_id for row in await bus.effects("applied")] == [event.id]


async def test_a_replay_that_cannot_be_delivered_leaves_the_message_parked(bus) -> None:
    service = _service()

    async def always_fails(session, event) -> None:
        raise FlakyError("never works")

    consumer = await bus.start_consumer(service, {"poison.sent": always_fails})
    poison = _event("poison.sent", "p")
    await bus.publish([poison])
    await wait_until(lambda: list_parked(bus.amqp_url, service), timeout=10, message="parking")
    consumer.stop()
    await asyncio.sleep(0.3)
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(consumer.names.main)
    outcome = await replay_parked(bus.amqp_url, service)
    assert outcome.replayed == []
    assert str(poison.id) in outcome.failed
    assert [p.message_id for p in await list_parked(bus.amqp_url, service)] == [str(poison.id)]


async def test_a_hanging_handler_times_out_and_the_others_flow(bus) -> None:
    service = _service()
    good = record_effect("good")

    async def hangs(session, event) -> None:
        await asyncio.Event().wait()

    await bus.start_consumer(
        service,
        {"hang.forever": hangs, "thing.happened": good},
        handler_timeout_seconds=0.5,
        workers=1,
    )
    hanging = _event("hang.forever", "h")
    others = [_event(note=str(n)) for n in range(5)]
    await bus.publish([hanging, *others])
    await wait_until(lambda: _count(bus, "good", 5), timeout=15, message="the other events")
    parked = await wait_until(
        lambda: list_parked(bus.amqp_url, service), timeout=15, message="parking"
    )
    assert [p.message_id for p in parked] == [str(hanging.id)]
    assert "HandlerTimedOut" in (parked[0].error or "")


async def test_a_consumer_cancelled_by_the_broker_subscribes_again(bus) -> None:
    """Deleting the queue cancels the consumer while its channel stays open: it must notice,
    say so, declare its queue again and go on consuming."""
    cancelled_before = REGISTRY.get_sample_value("crm_consumer_cancelled_total") or 0.0
    consumer = await bus.start_consumer(_service(), {"thing.happened": record_effect("h")})
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(consumer.names.main)
    await wait_until(
        lambda: asyncio.sleep(
            0,
            result=(REGISTRY.get_sample_value("crm_consumer_cancelled_total") or 0)
            > cancelled_before,
        ),
        message="the cancellation noticed",
    )
    await wait_until(
        lambda: asyncio.sleep(0, result=consumer.state == "ok"), message="subscribed again"
    )
    event = _event(note="after")
    await bus.publish([event])
    await wait_until(lambda: _count(bus, "h", 1), message="the event after the cancellation")
