"""What a running service owns: its engine, its publisher and relay, its consumer."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events.broker import EventPublisher
from crm_platform.events.consumer import EventConsumer, Handler
from crm_platform.events.relay import OutboxRelay
from crm_platform.metrics import prime_bus_metrics
from crm_platform.settings import PlatformSettings

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
RELAY_POOL_SIZE = 2


# A collection every 700 allocations, each walking the young objects, took about 3% of a
# busy service's CPU; every ~70 000 allocations a full one walked every object built at
# startup (routes, models, metadata), a pause on whatever request was running. After
# startup those objects live as long as the process: frozen, no collection walks them.
GC_THRESHOLDS = (10_000, 20, 20)
_gc_tuning = {"enabled": False}


def tune_garbage_collector_after_startup() -> None:
    """Called by ``crm-<service> serve`` before it starts; test processes keep defaults."""
    _gc_tuning["enabled"] = True


def freeze_startup_objects() -> None:
    if _gc_tuning["enabled"]:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)


@dataclass
class ServiceRuntime:
    settings: PlatformSettings
    handlers: dict[str, Handler] = field(default_factory=dict)
    published_types: list[str] = field(default_factory=list)
    engine: AsyncEngine = field(init=False)
    sessionmaker: async_sessionmaker[AsyncSession] = field(init=False)
    publisher: EventPublisher = field(init=False)
    relay_engine: AsyncEngine = field(init=False)
    relay: OutboxRelay = field(init=False)
    consumer: EventConsumer | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _relay_task: asyncio.Task[None] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        s = self.settings
        self.engine = create_engine(
            s.database_url,
            pool_size=s.database_pool_size,
            session_settings=s.database_session_settings(),
        )
        self.sessionmaker = create_sessionmaker(self.engine)
        self.publisher = EventPublisher(s.amqp_url, s.events_exchange)
        # The relay's own connections: it never waits behind requests for one.
        self.relay_engine = create_engine(s.database_url, pool_size=RELAY_POOL_SIZE)
        self.relay = OutboxRelay(
            self.relay_engine,
            self.publisher,
            batch_size=s.outbox_batch_size,
            sweep_seconds=s.outbox_sweep_seconds,
            retention=timedelta(hours=s.outbox_retention_hours),
            batch_window_seconds=s.outbox_batch_window_ms / 1000,
            handoff_grace_seconds=s.outbox_handoff_grace_seconds,
        )
        if self.handlers:
            self.consumer = EventConsumer(
                service=s.service_name,
                amqp_url=s.amqp_url,
                exchange_name=s.events_exchange,
                sessionmaker=self.sessionmaker,
                handlers=self.handlers,
                prefetch=s.consumer_prefetch,
                batch_size=s.consumer_batch_size,
                batch_window_seconds=s.consumer_batch_window_ms / 1000,
                workers=s.consumer_workers,
                max_attempts=s.consumer_max_attempts,
                retry_delays_ms=s.consumer_retry_delays_ms,
                reconnect_seconds=s.broker_reconnect_seconds,
            )

    async def start(self) -> None:
        prime_bus_metrics(self.published_types + list(self.handlers))
        if self.consumer is not None and self.settings.consumer_enabled:
            self._tasks.append(asyncio.create_task(self.consumer.run(), name="event-consumer"))
        if self.settings.relay_enabled:
            self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
            self._tasks.append(self._relay_task)

    async def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in stuck:
                log.warning(
                    "%s did not stop within %ss; abandoning it",
                    task.get_name(),
                    STOP_TIMEOUT_SECONDS,
                )
            for task in self._tasks:
                if task.done() and not task.cancelled():
                    with contextlib.suppress(Exception):
                        task.result()
        self._tasks.clear()
        await self.publisher.close()
        await self.engine.dispose()
        await self.relay_engine.dispose()

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state: ``ok`` or the reason it is not."""
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(self.publisher.ensure_connected(), timeout=3)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        if self.consumer is not None and self.settings.consumer_enabled:
            checks["consumer"] = "ok" if self.consumer.is_connected else "not consuming"
        if self.settings.relay_enabled:
            running = self._relay_task is not None and not self._relay_task.done()
            checks["relay"] = "ok" if running else "stopped"
        return checks
