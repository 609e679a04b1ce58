"""A small event bus harness on a fresh PostgreSQL database and a per-test exchange."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import aio_pika
import pytest
import sqlmodel
from sqlalchemy import Column, Integer, MetaData, String, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent, add_event
from crm_platform.events.broker import EventPublisher, declare_exchange
from crm_platform.events.consumer import EventConsumer, Handler
from crm_platform.events.inbox import InboxMessage
from crm_platform.events.outbox import OutboxMessage
from crm_platform.events.relay import OutboxRelay
from crm_platform.events.topology import declare_topology, unrouted_name
from crm_platform.testing import event_publisher, queue_depth

effect_metadata = MetaData()
effect_table = Table(
    "effect",
    effect_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False),
    Column("note", String(200), nullable=False),
)
_exchange_serial = count(1)


class FlakyError(RuntimeError):
    """What test handlers raise to simulate a failure."""


@dataclass
class Bus:
    amqp_url: str
    exchange: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    publisher: EventPublisher
    relay: OutboxRelay
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    consumers: list[EventConsumer] = field(default_factory=list)

    def relay_with(self, publisher: EventPublisher | None = None, **options: Any) -> OutboxRelay:
        """Another relay on the same database (a replica's, say), with its own options."""
        return OutboxRelay(
            self.engine,
            publisher or self.publisher,
            **{"batch_size": 50, "sweep_seconds": 0.3, "handoff_grace_seconds": 1.0, **options},
        )

    async def stage(
        self, routing_key: str, note: str = "", *, rollback: bool = False
    ) -> CloudEvent:
        """Write a business row and its event in one transaction (optionally rolled back)."""
        event = CloudEvent.new(
            service="probe", routing_key=routing_key, subject=note, data={"note": note}
        )
        with contextlib.suppress(FlakyError):
            async with self.sessionmaker() as session, session.begin():
                await session.execute(insert(effect_table).values(event_id=event.id, note="source"))
                add_event(session, event)
                if rollback:
                    raise FlakyError("business rule failed after the event was staged")
        return event

    def start_relay(self, relay: OutboxRelay | None = None) -> None:
        self.tasks.append(asyncio.create_task((relay or self.relay).run()))

    async def start_consumer(
        self, service: str, handlers: dict[str, Handler], **options: Any
    ) -> EventConsumer:
        consumer = EventConsumer(
            service=service,
            amqp_url=self.amqp_url,
            exchange_name=self.exchange,
            sessionmaker=self.sessionmaker,
            handlers=handlers,
            reconnect_seconds=0.2,
            **{"retry_delays_ms": [150, 300], "max_attempts": 3, **options},
        )
        self.consumers.append(consumer)
        self.tasks.append(asyncio.create_task(consumer.run()))
        await asyncio.wait_for(consumer.wait_ready(), 10)
        return consumer

    async def effects(self, note: str | None = None) -> list[Any]:
        async with self.sessionmaker() as session:
            query = select(effect_table.c.event_id, effect_table.c.note).where(
                effect_table.c.note != "source"
            )
            if note is not None:
                query = query.where(effect_table.c.note == note)
            return list((await session.execute(query)).all())

    async def outbox(self) -> list[OutboxMessage]:
        async with self.sessionmaker() as session:
            return list((await session.exec(sqlmodel.select(OutboxMessage))).all())

    async def inbox_count(self) -> int:
        async with self.sessionmaker() as session:
            return int(
                (await session.execute(select(func.count()).select_from(InboxMessage))).scalar_one()
            )

    @contextlib.asynccontextmanager
    async def observer(self, routing_key: str) -> AsyncIterator[list[CloudEvent]]:
        """Collect every event published with ``routing_key`` into a list, while open."""
        seen: list[CloudEvent] = []
        connection = await aio_pika.connect(self.amqp_url)
        async with connection:
            channel = await connection.channel()
            exchange = await declare_exchange(channel, self.exchange)
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, routing_key)

            async def collect(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                async with message.process():
                    seen.append(CloudEvent.from_bytes(message.body))

            await queue.consume(collect)
            yield seen

    async def publish(self, events: list[CloudEvent]) -> None:
        """Send ``events`` straight to the exchange, as another service's relay would."""
        async with event_publisher(self.amqp_url, self.exchange) as publish:
            for event in events:
                await publish(event)

    async def unrouted_count(self) -> int:
        return await queue_depth(self.amqp_url, unrouted_name(self.exchange))

    async def close(self) -> None:
        for consumer in self.consumers:
            consumer.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.publisher.close()
        await self.engine.dispose()


class SlowPublisher(EventPublisher):
    """A real publisher that waits ``delay`` seconds before each publish (a slow network)."""

    def __init__(self, amqp_url: str, exchange_name: str, delay: float) -> None:
        super().__init__(amqp_url, exchange_name)
        self.delay = delay

    async def publish(self, routing_key: str, body: bytes, **options: Any) -> None:
        await asyncio.sleep(self.delay)
        await super().publish(routing_key, body, **options)


def record_effect(note: str) -> Handler:
    async def handler(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(insert(effect_table).values(event_id=event.id, note=note))

    return handler


@pytest.fixture
async def bus(database_factory: Any, amqp_url: str) -> AsyncIterator[Bus]:
    url = await database_factory("bus")
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(
            SQLModel.metadata.create_all, tables=[OutboxMessage.__table__, InboxMessage.__table__]
        )
        await connection.run_sync(effect_metadata.create_all)
    sessionmaker = create_sessionmaker(engine)
    exchange = f"crm.events.test{next(_exchange_serial)}.{uuid.uuid4().hex[:6]}"
    await declare_topology(amqp_url, exchange)  # the deploy step: exchange, unrouted queue
    publisher = EventPublisher(amqp_url, exchange)
    relay = OutboxRelay(
        engine, publisher, batch_size=50, sweep_seconds=0.3, handoff_grace_seconds=1.0
    )
    harness = Bus(amqp_url, exchange, engine, sessionmaker, publisher, relay)
    yield harness
    await harness.close()
