"""The outbox and its relay against real PostgreSQL and RabbitMQ."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from crm_platform.events import CloudEvent
from crm_platform.events.outbox import OutboxMessage
from crm_platform.events.relay import OutboxRelay
from crm_platform.testing import wait_until


async def test_rolled_back_event_is_never_published(bus) -> None:
    async with bus.observer("thing.happened") as seen:
        await bus.stage("thing.happened", "kept")
        await bus.stage("thing.happened", "undone", rollback=True)
        bus.start_relay()
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) >= 1), message="the kept event")
        await asyncio.sleep(0.8)  # several sweeps: nothing else may arrive
    assert [event.data["note"] for event in seen] == ["kept"]
    rows = await bus.outbox()
    assert len(rows) == 1 and rows[0].published_at is not None


async def test_commit_wakes_the_relay_without_waiting_for_a_sweep(bus) -> None:
    bus.relay._sweep_seconds = 30  # only the commit signal can make it publish in time
    async with bus.observer("thing.happened") as seen:
        bus.start_relay()
        await asyncio.sleep(0.2)
        event = await bus.stage("thing.happened", "fast")
        await wait_until(lambda: asyncio.sleep(0, result=seen), timeout=3, message="woken relay")
    assert seen[0].id == event.id


async def test_row_is_marked_sent_only_after_the_broker_confirms(bus) -> None:
    # Nobody is bound to this key: a mandatory publish comes back, which must count as failure.
    await bus.stage("nobody.listens", "orphan")
    assert await bus.relay.drain() == 0
    [row] = await bus.outbox()
    assert row.published_at is None
    assert row.attempts == 1
    assert "nobody.listens" in (row.last_error or "")

    async with bus.observer("nobody.listens") as seen:
        assert await bus.relay.drain() == 1
        await wait_until(lambda: asyncio.sleep(0, result=seen), message="the delivered event")
    [row] = await bus.outbox()
    assert row.published_at is not None


async def test_two_relays_share_the_outbox_without_publishing_twice(bus) -> None:
    second = OutboxRelay(bus.engine, bus.publisher, batch_size=7, sweep_seconds=0.2)
    bus.relay._batch_size = 7
    async with bus.observer("thing.happened") as seen:
        for n in range(120):
            await bus.stage("thing.happened", f"n{n}")
        await asyncio.gather(bus.relay.drain(), second.drain(), bus.relay.drain(), second.drain())
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) >= 120), message="all events")
        await asyncio.sleep(0.5)
    assert len(seen) == 120
    assert len({event.id for event in seen}) == 120


async def test_published_rows_past_retention_are_pruned(bus) -> None:
    from datetime import timedelta

    async with bus.observer("thing.happened"):
        await bus.stage("thing.happened", "old")
        await bus.relay.drain()
    bus.relay._retention = timedelta(0)
    bus.relay._prune_every_seconds = 0
    await bus.stage("thing.happened", "pending")  # unpublished: must survive pruning
    await bus.relay._prune_if_due()
    rows = await bus.outbox()
    assert [row.published_at for row in rows] == [None]


async def test_overlapping_passes_publish_every_event_once(bus) -> None:
    """On PostgreSQL a pass starts while the previous one awaits confirms; under a stream of
    commits, each event must still go out exactly once."""
    bus.relay._batch_size = 5  # many passes, overlapping
    async with bus.observer("thing.happened") as seen:
        bus.start_relay()

        async def commits(worker: int) -> None:
            for n in range(50):
                await bus.stage("thing.happened", f"w{worker}-{n}")

        await asyncio.gather(*(commits(w) for w in range(6)))
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) >= 300), message="all events")
        await asyncio.sleep(0.5)  # a duplicate would arrive by now
    assert len(seen) == 300
    assert len({event.id for event in seen}) == 300
    assert all(row.published_at is not None for row in await bus.outbox())


async def _commit_without_hand_off(bus, note: str) -> CloudEvent:
    """A row written outside any session, as another process's commit would be: this
    process's relay is not handed it and must find it by sweeping."""
    event = CloudEvent.new(service="probe", routing_key="thing.happened", subject=note, data={})
    async with bus.engine.begin() as connection:
        await connection.execute(
            insert(OutboxMessage.__table__).values(
                id=event.id,
                routing_key=event.routing_key,
                body=event.model_dump_json(),
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )
    return event


async def test_the_first_sweep_takes_what_a_crash_left_at_once(bus) -> None:
    bus.relay._handoff_grace = timedelta(seconds=30)
    left = await _commit_without_hand_off(bus, "left by a crash")
    async with bus.observer("thing.happened") as seen:
        bus.start_relay()
        await wait_until(lambda: asyncio.sleep(0, result=seen), timeout=5, message="swept")
    assert [e.id for e in seen] == [left.id]


async def test_later_sweeps_leave_young_rows_to_the_relay_they_were_handed_to(bus) -> None:
    bus.relay._handoff_grace = timedelta(seconds=2)
    async with bus.observer("thing.happened") as seen:
        bus.start_relay()
        await asyncio.sleep(0.5)  # past the first sweep
        other = await _commit_without_hand_off(bus, "another process's")
        handed = await bus.stage("thing.happened", "this process's")
        await wait_until(lambda: asyncio.sleep(0, result=seen), timeout=3, message="hand-off")
        await asyncio.sleep(0.5)  # sweeps run every 0.3 s: the young row must still wait
        assert [e.id for e in seen] == [handed.id]
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) == 2), message="the sweep")
    assert [e.id for e in seen] == [handed.id, other.id]
    assert all(row.published_at is not None for row in await bus.outbox())
