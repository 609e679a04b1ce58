"""What a running service owns: its engines, its publisher and relay, its consumer, and the
upkeep of its outbox and inbox (gauges, retention)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import create_engine, create_sessionmaker, is_sqlite
from crm_platform.events.broker import EventPublisher
from crm_platform.events.consumer import EventConsumer, Handler
from crm_platform.events.inbox import prune_inbox
from crm_platform.events.relay import OutboxRelay, outbox_status, prune_published
from crm_platform.events.topology import ConsumerTopology, declare_topology, unrouted_name
from crm_platform.metrics import (
    EVENTS_UNROUTED,
    INBOX_PRUNED,
    OUTBOX_BACKLOG,
    OUTBOX_FAILING,
    OUTBOX_OLDEST_PENDING_AGE,
    OUTBOX_PRUNED,
    prime_bus_metrics,
)
from crm_platform.settings import PlatformSettings

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
RELAY_POOL_SIZE = 2
PRUNE_EVERY_SECONDS = 600.0
# The unrouted queue's depth is a broker round trip or three (a channel of its own): every
# 30 s is enough for a gauge nobody alerts on by the second. Read every sweep interval in
# every service, it cost about 10% of the event path's CPU in `make bench-events`.
UNROUTED_DEPTH_EVERY_SECONDS = 30.0
TOPOLOGY_RETRY_MAX_SECONDS = 30.0


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
    consumer_engine: AsyncEngine | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _relay_task: asyncio.Task[None] | None = field(init=False, default=None)
    _topology_error: str | None = field(init=False, default="not declared yet")
    _topology_declared: asyncio.Event = field(init=False, default_factory=asyncio.Event)

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
            batch_window_seconds=s.outbox_batch_window_ms / 1000,
            handoff_grace_seconds=s.outbox_handoff_grace_seconds,
            handoff_capacity=s.outbox_handoff_capacity,
            max_backoff_seconds=s.outbox_max_backoff_seconds,
        )
        if self.handlers:
            # Its own connections: an event never waits behind requests for one (a request
            # burst used to hold the pool long enough to time a batch out).
            self.consumer_engine = (
                self.engine
                if is_sqlite(s.database_url)
                else create_engine(
                    s.database_url,
                    pool_size=s.consumer_workers + 1,
                    session_settings=s.database_session_settings(),
                )
            )
            self.consumer = EventConsumer(
                service=s.service_name,
                amqp_url=s.amqp_url,
                exchange_name=s.events_exchange,
                sessionmaker=create_sessionmaker(self.consumer_engine),
                handlers=self.handlers,
                prefetch=s.consumer_prefetch,
                batch_size=s.consumer_batch_size,
                batch_window_seconds=s.consumer_batch_window_ms / 1000,
                workers=s.consumer_workers,
                max_attempts=s.consumer_max_attempts,
                retry_delays_ms=s.consumer_retry_delays_ms,
                reconnect_seconds=s.broker_reconnect_seconds,
                handler_timeout_seconds=s.consumer_handler_timeout_seconds,
                delivery_limit=s.consumer_delivery_limit,
            )

    @property
    def topology(self) -> ConsumerTopology | None:
        return topology_of(self.settings, self.handlers)

    async def start(self) -> None:
        prime_bus_metrics(self.published_types + list(self.handlers))
        self._tasks.append(asyncio.create_task(self._declare_topology(), name="topology"))
        self._tasks.append(asyncio.create_task(self._upkeep(), name="outbox-inbox-upkeep"))
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
        if self.consumer_engine is not None and self.consumer_engine is not self.engine:
            await self.consumer_engine.dispose()

    async def _declare_topology(self) -> None:
        """The deploy step's declarations again at start (idempotent), until they succeed:
        readiness waits for them, so nothing reports ready before its queues exist."""
        delay = self.settings.broker_reconnect_seconds
        while True:
            try:
                await declare_topology(
                    self.settings.amqp_url, self.settings.events_exchange, self.topology
                )
            except Exception as exc:
                self._topology_error = f"not declared: {type(exc).__name__}"
                log.warning("declaring the broker topology failed (%r); again in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, TOPOLOGY_RETRY_MAX_SECONDS)
                continue
            self._topology_error = None
            self._topology_declared.set()
            return

    async def wait_topology(self) -> None:
        await self._topology_declared.wait()

    async def _upkeep(self) -> None:
        """The outbox gauges every sweep interval, the unrouted depth every 30 s, retention
        every ten minutes; each on its own, so a failing broker or sweep never stops the
        others."""
        last_prune = last_depth = -PRUNE_EVERY_SECONDS
        while True:
            await self._refresh_outbox_gauges()
            if time.monotonic() - last_depth >= UNROUTED_DEPTH_EVERY_SECONDS:
                last_depth = time.monotonic()
                await self._refresh_unrouted_depth()
            if time.monotonic() - last_prune >= PRUNE_EVERY_SECONDS:
                last_prune = time.monotonic()
                await self._prune()
            await asyncio.sleep(self.settings.outbox_sweep_seconds)

    async def _refresh_outbox_gauges(self) -> None:
        try:
            status = await outbox_status(self.relay_engine)
            OUTBOX_BACKLOG.set(status.pending)
            OUTBOX_FAILING.set(status.failing)
            OUTBOX_OLDEST_PENDING_AGE.set(status.oldest_pending_age_seconds)
        except Exception:
            log.warning("reading the outbox status failed", exc_info=True)

    async def _refresh_unrouted_depth(self) -> None:
        depth = await self.publisher.queue_depth(unrouted_name(self.settings.events_exchange))
        if depth is not None:
            EVENTS_UNROUTED.set(depth)

    async def _prune(self) -> None:
        s = self.settings
        try:
            OUTBOX_PRUNED.inc(
                await prune_published(self.relay_engine, s.outbox_retention_hours * 3600)
            )
        except Exception:
            log.warning("pruning the outbox failed", exc_info=True)
        if self.consumer_engine is None:
            return
        try:
            INBOX_PRUNED.inc(
                await prune_inbox(self.consumer_engine, s.inbox_retention_hours * 3600)
            )
        except Exception:
            log.warning("pruning the inbox failed", exc_info=True)

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
        checks["topology"] = self._topology_error or "ok"
        if self.consumer is not None and self.settings.consumer_enabled:
            checks["consumer"] = self.consumer.state
        if self.settings.relay_enabled:
            running = self._relay_task is not None and not self._relay_task.done()
            checks["relay"] = "ok" if running else "stopped"
        return checks


def topology_of(settings: PlatformSettings, consumed: Iterable[str]) -> ConsumerTopology | None:
    """A service's queues (None when it consumes nothing), as settings and handlers say."""
    routing_keys = list(consumed)
    if not routing_keys:
        return None
    return ConsumerTopology.of(
        settings.service_name,
        routing_keys,
        settings.consumer_retry_delays_ms,
        settings.consumer_delivery_limit,
    )
