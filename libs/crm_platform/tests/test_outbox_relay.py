"""The outbox and its relay against real PostgreSQL and RabbitMQ."""

import asyncio
import uuid
from collections import Counter
from datetime import timedelta

import aio_pika
import asyncpg
import pytest
from sqlalchemy import insert, text

from crm_platform.events import CloudEvent, add_event
from crm_platform.events.broker import EventPublisher
from crm_platform.events.inbox import prune_inbox
from crm_platform.events.outbox import OutboxMessage
from crm_platform.events.relay import list_pending, outbox_status, prune_published, retry_now
from crm_platform.events.topology import declare_topology, unrouted_name
from crm_platform.runtime import ServiceRuntime
from crm_platform.settings import PlatformSettings
from crm_platform.testing import wait_until
from crm_platform.testing_faults import TcpProxy, through_proxy

from .conftest import SlowPublisher, effect_table, record_effect


async def _seen(seen: list, count: int) -> bool:
    await asyncio.sleep(0)
    return len(seen) >= count


def _copies(seen: list[CloudEvent]) -> Counter:
    return Counter(event.id for event in seen)


async def test_rolled_back_event_is_never_published(bus) -> None:
    async with bus.observer("thing.happened") as seen:
        await bus.stage("thing.happened", "kept")
        await bus.stage("thing.happened", "undone", rollback=True)
        bus.start_relay()
        await wait_until(lambda: _seen(seen, 1), message="the kept event")
        await asyncio.sleep(1.5)  # past the grace, several sweeps: nothing else may arrive
    assert [event.data["note"] for event in seen] == ["kept"]
    rows = await bus.outbox()
    assert len(rows) == 1 and rows[0].published_at is not None


async def test_commit_wakes_the_relay_without_waiting_for_a_sweep(bus) -> None:
    relay = bus.relay_with(sweep_seconds=30, handoff_grace_seconds=30)
    async with bus.observer("thing.happened") as seen:
        bus.start_relay(relay)
        await asyncio.sleep(0.2)
        event = await bus.stage("thing.happened", "fast")
        await wait_until(lambda: _seen(seen, 1), timeout=3, message="woken relay")
    assert seen[0].id == event.id


async def test_an_event_nobody_subscribes_to_counts_as_published(bus) -> None:
    """No queue is bound to its type: the alternate exchange keeps it, the broker confirms,
    and the row is done (it used to come back unroutable and stay pending for ever)."""
    await bus.stage("nobody.listens", "orphan")
    assert await bus.relay.drain() == 1
    [row] = await bus.outbox()
    assert row.published_at is not None
    assert row.attempts == 0
    assert await bus.unrouted_count() == 1


async def test_a_refused_row_backs_off_and_never_holds_back_newer_rows(bus) -> None:
    """With the alternate exchange's queue gone, an unbound type is returned even so: its
    rows back off one by one, and more of them than a sweep's batch never stop the rows
    behind them from going out."""
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(unrouted_name(bus.exchange))
    async with bus.sessionmaker() as session, session.begin():
        for n in range(120):  # more than the relay's batch of 50
            add_event(session, _event("nobody.listens", f"o{n}"))
    async with bus.observer("thing.happened") as seen:
        newer = [await bus.stage("thing.happened", f"n{n}") for n in range(5)]
        assert await bus.relay.drain() == 5
        await wait_until(lambda: _seen(seen, 5), message="the newer rows")
        assert await bus.relay.drain() == 0  # the refused rows wait out their back-off
    assert {e.id for e in seen} == {e.id for e in newer}
    failing = await list_pending(bus.engine, failing_only=True, limit=1000)
    assert len(failing) == 120
    assert {row.attempts for row in failing} == {1}
    assert all("NO_ROUTE" in (row.last_error or "") for row in failing)
    assert all(row.next_attempt_after is not None for row in failing)
    status = await outbox_status(bus.engine)
    assert (status.pending, status.failing) == (120, 120)
    assert status.oldest_pending_age_seconds >= 0

    await declare_topology(bus.amqp_url, bus.exchange)  # the operator restores the queue
    assert await retry_now(bus.engine, None) == 120  # and ends the back-off
    assert await bus.relay.drain() == 120
    assert (await outbox_status(bus.engine)).pending == 0


async def test_the_hand_off_is_bounded_and_leaves_the_rest_to_the_sweep(bus) -> None:
    relay = bus.relay_with(handoff_capacity=10, handoff_grace_seconds=1.0)
    async with bus.observer("thing.happened") as seen:
        bus.start_relay(relay)
        await asyncio.sleep(0.2)
        async with bus.sessionmaker() as session, session.begin():
            events = [_event("thing.happened", f"b{n}") for n in range(30)]
            for event in events:
                add_event(session, event)
        await wait_until(lambda: _seen(seen, 10), timeout=2, message="the hand-off's ten")
        await asyncio.sleep(0.3)  # well inside the 1 s grace: no sweep may take a row yet
        assert len(seen) == 10, f"{len(seen)} out before the grace; the hand-off holds 10"
        await wait_until(lambda: _seen(seen, 30), timeout=10, message="the sweep's twenty")
        await asyncio.sleep(1.0)
    assert set(_copies(seen)) == {e.id for e in events}
    assert max(_copies(seen).values()) == 1


async def test_a_broker_outage_never_makes_a_process_publish_a_row_twice(bus) -> None:
    """Rows committed while the broker does not answer wait for it; once it answers, each is
    published once, not once by the hand-off and again by the sweep."""
    proxy = await TcpProxy("127.0.0.1:5672").start()
    publisher = EventPublisher(through_proxy(bus.amqp_url, proxy), bus.exchange)
    relay = bus.relay_with(publisher, handoff_grace_seconds=1.0, sweep_seconds=0.2)
    try:
        async with bus.observer("thing.happened") as seen:
            bus.start_relay(relay)
            await asyncio.sleep(0.3)
            proxy.silence()
            staged = [await bus.stage("thing.happened", f"s{n}") for n in range(20)]
            await asyncio.sleep(3.0)  # well past the grace: the sweep may take them now
            proxy.restore()
            await wait_until(lambda: _seen(seen, 20), timeout=60, message="every event")
            await asyncio.sleep(2.0)  # a second copy would arrive by now
        assert set(_copies(seen)) == {e.id for e in staged}
        assert max(_copies(seen).values()) == 1
    finally:
        await publisher.close()
        await proxy.close()


async def test_publishes_against_a_silent_broker_share_one_connection_attempt(bus) -> None:
    """Waiting publishes used to make a 5 s connection attempt each, in turn."""
    proxy = await TcpProxy("127.0.0.1:5672").start()
    proxy.silence()
    publisher = EventPublisher(through_proxy(bus.amqp_url, proxy), bus.exchange)
    try:
        started = asyncio.get_running_loop().time()
        outcomes = await asyncio.gather(
            *(publisher.publish("thing.happened", b"{}", message_id=str(n)) for n in range(4)),
            return_exceptions=True,
        )
        elapsed = asyncio.get_running_loop().time() - started
        assert all(isinstance(o, Exception) for o in outcomes)
        assert elapsed < 7.0, f"four publishes took {elapsed:.1f}s against a silent broker"
        assert not publisher.available  # the next attempt is not due yet: fail at once
        started = asyncio.get_running_loop().time()
        with pytest.raises(Exception, match="next attempt"):
            await publisher.publish("thing.happened", b"{}", message_id="5")
        assert asyncio.get_running_loop().time() - started < 0.1
    finally:
        await publisher.close()
        await proxy.close()


async def test_a_sweep_holds_no_lock_while_it_publishes(bus) -> None:
    """Claim, commit, publish, mark: a slow publish must not keep the rows locked, nor a
    transaction open, so nothing else that touches them waits for the broker."""
    left = await _commit_without_hand_off(bus, "left")
    slow = SlowPublisher(bus.amqp_url, bus.exchange, delay=3.0)
    relay = bus.relay_with(slow)
    try:
        sweeping = asyncio.create_task(relay.drain())
        await asyncio.sleep(0.5)  # the rows are claimed, the publish is waiting
        dsn = str(bus.engine.url.set(drivername="postgresql"))
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute("SET lock_timeout = '1s'")
            await connection.execute(
                "UPDATE outbox_message SET last_error = 'touched' WHERE id = $1", left.id
            )
            in_transaction = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"
            )
        finally:
            await connection.close()
        assert in_transaction == 0
        assert await sweeping == 1
    finally:
        await slow.close()


async def test_two_relays_share_the_outbox_without_publishing_twice(bus) -> None:
    """One replica hands its commits to its relay (slow to publish); another replica's relay
    starts meanwhile and sweeps: neither the other's first sweep nor its later ones may
    take what the first is publishing."""
    slow = SlowPublisher(bus.amqp_url, bus.exchange, delay=0.3)
    writer_relay = bus.relay_with(slow, handoff_grace_seconds=2.0)
    other_relay = bus.relay_with(batch_size=7, sweep_seconds=0.1, handoff_grace_seconds=2.0)
    try:
        async with bus.observer("thing.happened") as seen:
            bus.start_relay(writer_relay)
            await asyncio.sleep(0.2)
            first = [await bus.stage("thing.happened", f"a{n}") for n in range(30)]
            bus.start_relay(other_relay)  # its first sweep, while the hand-off is busy
            others = [await _commit_without_hand_off(bus, f"o{n}") for n in range(30)]
            second = [await bus.stage("thing.happened", f"b{n}") for n in range(30)]
            await wait_until(lambda: _seen(seen, 90), timeout=20, message="all events")
            await asyncio.sleep(1.0)
        assert set(_copies(seen)) == {e.id for e in first + others + second}
        assert max(_copies(seen).values()) == 1
    finally:
        await slow.close()


async def test_published_rows_past_retention_are_pruned(bus) -> None:
    async with bus.observer("thing.happened"):
        await bus.stage("thing.happened", "old")
        await bus.relay.drain()
    await bus.stage("thing.happened", "pending")  # unpublished: must survive pruning
    assert await prune_published(bus.engine, retention_seconds=3600) == 0
    await asyncio.sleep(0.2)
    assert await prune_published(bus.engine, retention_seconds=0.1) == 1
    rows = await bus.outbox()
    assert [row.published_at for row in rows] == [None]


async def test_overlapping_passes_publish_every_event_once(bus) -> None:
    """On PostgreSQL a pass starts while the previous one awaits confirms; under a stream of
    commits, each event must still go out exactly once."""
    relay = bus.relay_with(batch_size=5)  # many passes, overlapping
    async with bus.observer("thing.happened") as seen:
        bus.start_relay(relay)

        async def commits(worker: int) -> None:
            for n in range(50):
                await bus.stage("thing.happened", f"w{worker}-{n}")

        await asyncio.gather(*(commits(w) for w in range(6)))
        await wait_until(lambda: _seen(seen, 300), message="all events")
        await asyncio.sleep(1.5)  # past the grace: a duplicate would arrive by now
    assert len(seen) == 300
    assert len({event.id for event in seen}) == 300
    assert all(row.published_at is not None for row in await bus.outbox())


async def test_created_at_is_the_commit_time_on_the_databases_clock(bus) -> None:
    """The grace is measured from the commit, on the database server's clock: a row staged
    early in a slow transaction is not already 'old' when it commits."""
    async with bus.sessionmaker() as session, session.begin():
        event = add_event(session, _event("thing.happened", "slow"))
        await asyncio.sleep(1.2)
    async with bus.engine.connect() as connection:
        now = (await connection.execute(text("SELECT statement_timestamp()"))).scalar_one()
    [row] = await bus.outbox()
    assert row.id == event.id
    assert timedelta(0) <= now - row.created_at < timedelta(seconds=0.5)


async def _commit_without_hand_off(bus, note: str) -> CloudEvent:
    """A row written outside any session, as another process's commit would be: this
    process's relay is not handed it and must find it by sweeping."""
    event = _event("thing.happened", note)
    async with bus.engine.begin() as connection:
        await connection.execute(insert(effect_table).values(event_id=event.id, note="source"))
        await connection.execute(
            insert(OutboxMessage.__table__).values(
                id=event.id,
                routing_key=event.routing_key,
                body=event.model_dump_json(),
                created_at=text("statement_timestamp()"),
                attempts=0,
            )
        )
    return event


def _event(routing_key: str, note: str) -> CloudEvent:
    return CloudEvent.new(service="probe", routing_key=routing_key, subject=note, data={})


async def test_rows_a_crash_left_are_published_once_the_grace_has_passed(bus) -> None:
    left = await _commit_without_hand_off(bus, "left by a crash")
    async with bus.observer("thing.happened") as seen:
        bus.start_relay()
        await asyncio.sleep(0.4)
        assert seen == [], "taken before the grace: another replica's hand-off may own it"
        await wait_until(lambda: _seen(seen, 1), timeout=5, message="swept")
    assert [e.id for e in seen] == [left.id]


async def test_later_sweeps_leave_young_rows_to_the_relay_they_were_handed_to(bus) -> None:
    relay = bus.relay_with(handoff_grace_seconds=2.0)
    async with bus.observer("thing.happened") as seen:
        bus.start_relay(relay)
        await asyncio.sleep(0.5)
        other = await _commit_without_hand_off(bus, "another process's")
        handed = await bus.stage("thing.happened", "this process's")
        await wait_until(lambda: _seen(seen, 1), timeout=3, message="hand-off")
        await asyncio.sleep(0.8)  # sweeps run every 0.3 s: the young row must still wait
        assert [e.id for e in seen] == [handed.id]
        await wait_until(lambda: _seen(seen, 2), message="the sweep")
    assert [e.id for e in seen] == [handed.id, other.id]
    assert all(row.published_at is not None for row in await bus.outbox())


async def test_a_running_service_publishes_a_commit_through_its_hand_off(bus) -> None:
    """The service's own runtime, wired as in production: its sweep and grace are far too
    long to deliver in time, so only a working hand-off can."""
    settings = PlatformSettings(
        service_name="probe",
        database_url=bus.engine.url.render_as_string(hide_password=False),
        amqp_url=bus.amqp_url,
        events_exchange=bus.exchange,
        outbox_sweep_seconds=60,
        outbox_handoff_grace_seconds=60,
    )
    runtime = ServiceRuntime(settings)
    await runtime.start()
    try:
        await asyncio.wait_for(runtime.wait_topology(), 10)
        async with bus.observer("thing.happened") as seen:
            async with runtime.sessionmaker() as session, session.begin():
                event = add_event(session, _event("thing.happened", "runtime"))
            await wait_until(lambda: _seen(seen, 1), timeout=2, message="the hand-off")
        assert [e.id for e in seen] == [event.id]
    finally:
        await runtime.stop()


async def test_inbox_rows_past_retention_are_pruned(bus) -> None:
    await bus.start_consumer(
        f"probe-{uuid.uuid4().hex[:8]}", {"thing.happened": record_effect("h")}
    )
    bus.start_relay()
    await bus.stage("thing.happened", "consumed")
    await wait_until(bus.effects, message="the event consumed")
    assert await prune_inbox(bus.engine, retention_seconds=3600) == 0
    assert await bus.inbox_count() == 1
    await asyncio.sleep(0.2)
    assert await prune_inbox(bus.engine, retention_seconds=0.1) == 1
    assert await bus.inbox_count() == 0


async def test_a_service_prunes_its_inbox_by_itself(bus) -> None:
    """The running service's upkeep deletes inbox rows past CRM_INBOX_RETENTION_HOURS,
    whatever its relay or broker does (before, nothing ever deleted them)."""
    await bus.start_consumer(
        f"probe-{uuid.uuid4().hex[:8]}", {"thing.happened": record_effect("h")}
    )
    bus.start_relay()
    await bus.stage("thing.happened", "consumed long ago")
    await wait_until(bus.effects, message="the event consumed")
    assert await bus.inbox_count() == 1
    settings = PlatformSettings(
        service_name="probe",
        database_url=bus.engine.url.render_as_string(hide_password=False),
        amqp_url=bus.amqp_url,
        events_exchange=bus.exchange,
        inbox_retention_hours=0.0001,  # 0.36 s
        outbox_sweep_seconds=0.2,
    )
    runtime = ServiceRuntime(settings, handlers={"thing.happened": record_effect("h")})
    await asyncio.sleep(0.5)
    await runtime.start()
    try:
        await wait_until(lambda: _inbox_empty(bus), message="the old inbox row pruned")
    finally:
        await runtime.stop()


async def _inbox_empty(bus) -> bool:
    return await bus.inbox_count() == 0
