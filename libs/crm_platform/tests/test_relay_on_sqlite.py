"""The relay on SQLite (``make run``'s default): the sweep never holds the database-wide write
lock while it waits for the broker, and relays of several processes on one file never publish
a row twice."""

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import SQLModel

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent, add_event
from crm_platform.events.outbox import OutboxMessage
from crm_platform.events.relay import OutboxRelay
from crm_platform.testing import wait_until

from .conftest import SlowPublisher, effect_metadata, effect_table

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)  # past any grace


async def _sqlite_engine(path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, tables=[OutboxMessage.__table__])
        await connection.run_sync(effect_metadata.create_all)
    return engine


async def _write_rows(engine, count: int) -> list[CloudEvent]:
    """Rows as another process's commits leave them (no hand-off to these relays)."""
    events = [
        CloudEvent.new(service="probe", routing_key="thing.happened", subject=str(n), data={})
        for n in range(count)
    ]
    async with engine.begin() as connection:
        for event in events:
            await connection.execute(
                insert(OutboxMessage.__table__).values(
                    id=event.id,
                    routing_key=event.routing_key,
                    body=event.model_dump_json(),
                    created_at=LONG_AGO,
                    attempts=0,
                )
            )
    return events


async def test_writes_go_on_while_a_sweep_waits_for_the_broker(bus, tmp_path: Path) -> None:
    engine = await _sqlite_engine(tmp_path / "service.db")
    slow = SlowPublisher(bus.amqp_url, bus.exchange, delay=3.0)
    relay = OutboxRelay(engine, slow, sweep_seconds=60, handoff_grace_seconds=1.0)
    try:
        await _write_rows(engine, 3)
        sweeping = asyncio.create_task(relay.drain())
        await asyncio.sleep(0.5)  # rows claimed, publishes waiting
        started = time.monotonic()
        async with engine.begin() as connection:  # a request's write transaction
            await connection.execute(insert(effect_table).values(event_id=uuid.uuid4(), note="w"))
        waited = time.monotonic() - started
        assert waited < 1.0, f"a write waited {waited:.1f}s for the sweep's publish"
        assert await sweeping == 3
    finally:
        await slow.close()
        await engine.dispose()


async def test_relays_of_two_processes_on_one_file_publish_each_row_once(
    bus, tmp_path: Path
) -> None:
    path = tmp_path / "shared.db"
    engines = [await _sqlite_engine(path), await _sqlite_engine(path)]
    publishers = [SlowPublisher(bus.amqp_url, bus.exchange, delay=0.05) for _ in engines]
    relays = [
        OutboxRelay(engine, publisher, batch_size=10, sweep_seconds=0.1, handoff_grace_seconds=1)
        for engine, publisher in zip(engines, publishers, strict=True)
    ]
    try:
        async with bus.observer("thing.happened") as seen:
            events = await _write_rows(engines[0], 60)
            for relay in relays:
                bus.start_relay(relay)
            await wait_until(
                lambda: asyncio.sleep(0, result=len(seen) >= 60), timeout=20, message="all"
            )
            await asyncio.sleep(1.0)
        copies = Counter(event.id for event in seen)
        assert set(copies) == {e.id for e in events}
        assert max(copies.values()) == 1
    finally:
        for publisher in publishers:
            await publisher.close()
        for engine in engines:
            await engine.dispose()


async def test_another_process_relay_leaves_rows_handed_to_the_writers_relay_alone(
    bus, tmp_path: Path
) -> None:
    """The rows are commits of the first process, handed to its (slow) relay, when the second
    process's relay starts on the same file: its sweeps must not publish them again."""
    path = tmp_path / "shared.db"
    engines = [await _sqlite_engine(path), await _sqlite_engine(path)]
    publishers = [
        SlowPublisher(bus.amqp_url, bus.exchange, delay=0.3),
        SlowPublisher(bus.amqp_url, bus.exchange, delay=0.05),
    ]
    writer, other = (
        OutboxRelay(engine, publisher, batch_size=10, sweep_seconds=0.1, handoff_grace_seconds=2.0)
        for engine, publisher in zip(engines, publishers, strict=True)
    )
    sessionmaker = create_sessionmaker(engines[0])
    try:
        async with bus.observer("thing.happened") as seen:
            bus.start_relay(writer)
            await asyncio.sleep(0.2)
            events = []
            for n in range(20):
                async with sessionmaker() as session, session.begin():
                    events.append(add_event(session, _handed(f"h{n}")))
            bus.start_relay(other)  # the other process's relay starts meanwhile
            await wait_until(
                lambda: asyncio.sleep(0, result=len({e.id for e in seen}) >= 20), timeout=20
            )
            await asyncio.sleep(1.5)
        copies = Counter(e.id for e in seen)
        assert set(copies) == {e.id for e in events}
        assert max(copies.values()) == 1
    finally:
        for publisher in publishers:
            await publisher.close()
        for engine in engines:
            await engine.dispose()


def _handed(note: str) -> CloudEvent:
    return CloudEvent.new(service="probe", routing_key="thing.happened", subject=note, data={})
