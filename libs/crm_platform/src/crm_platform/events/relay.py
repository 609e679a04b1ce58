"""The outbox relay: publishes committed outbox rows and marks them sent after the broker's ack.

It wakes when a transaction with events commits and also sweeps on an interval, so a crash
between commit and publish only delays an event. On PostgreSQL several replicas share the
outbox through ``FOR UPDATE SKIP LOCKED``; on SQLite one process owns the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.events.broker import EventPublisher
from crm_platform.events.outbox import OutboxMessage, outbox_signal
from crm_platform.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = logging.getLogger(__name__)

table = OutboxMessage.__table__
PASSES_IN_FLIGHT = 2  # PostgreSQL: one selecting while the other awaits confirms
_MARK_SENT = (
    update(table)
    .where(table.c.id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("now"))
)


def _pending_query(dialect: str) -> Select[Any]:
    """The oldest unpublished rows, at most ``:limit``; locked rows are another relay's."""
    query = (
        select(table.c.id, table.c.routing_key, table.c.body)
        .where(table.c.published_at.is_(None))
        .order_by(table.c.created_at)
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        publisher: EventPublisher,
        *,
        batch_size: int = 200,
        sweep_seconds: float = 2.0,
        retention: timedelta = timedelta(days=7),
        prune_every_seconds: float = 600.0,
        batch_window_seconds: float = 0.0,
    ) -> None:
        self._engine = engine
        self._pending = {d: _pending_query(d) for d in ("postgresql", "sqlite")}
        self._publisher = publisher
        self._batch_size = batch_size
        self._sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._retention = retention
        self._prune_every_seconds = prune_every_seconds
        self._last_prune = 0.0
        self._last_backlog_count = 0.0
        # After a wake, let the commits of this moment join the same pass: one SELECT,
        # UPDATE and COMMIT for all of them instead of one pass per commit.
        self._batch_window_seconds = batch_window_seconds

    async def run(self) -> None:
        """Publish until cancelled; never dies on a broker or database error.

        On PostgreSQL a new pass may start while the previous one still waits for the
        broker's confirms: ``SKIP LOCKED`` gives it only rows committed since, so a commit
        waits for at most the pass in progress to have selected, not to have finished. On
        SQLite (no row locks) passes run one at a time.
        """
        outbox_signal.register(self._wake)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                parallel = self._engine.dialect.name == "postgresql"
                if len(in_flight) < (PASSES_IN_FLIGHT if parallel else 1):
                    self._wake.clear()
                    task = asyncio.create_task(self._pass(), name="outbox-relay-pass")
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    if not parallel:
                        await task
                else:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._sweep_seconds)
                if self._batch_window_seconds > 0:
                    await asyncio.sleep(self._batch_window_seconds)
        finally:
            outbox_signal.unregister(self._wake)
            for task in in_flight:
                task.cancel()

    async def _pass(self) -> None:
        try:
            sent, seen = await self._publish_batch()
            if seen == self._batch_size and sent == seen:
                self._wake.set()  # more may be waiting: go again at once
            await self._update_backlog_if_due()
            await self._prune_if_due()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("outbox relay pass failed; retrying at next sweep", exc_info=True)

    async def drain(self) -> int:
        """Publish everything pending now; returns how many rows were confirmed."""
        confirmed = 0
        async with self._drain_lock:
            while True:
                self._wake.clear()
                sent, seen = await self._publish_batch()
                confirmed += sent
                if seen < self._batch_size or sent < seen:
                    return confirmed

    async def _publish_batch(self) -> tuple[int, int]:
        # Core rows, no ORM session: a pass runs for every few commits.
        async with self._engine.begin() as connection:
            query = self._pending[connection.dialect.name]
            rows = (await connection.execute(query, {"limit": self._batch_size})).all()
            if not rows:
                return 0, 0
            outcomes = await asyncio.gather(
                *(
                    self._publisher.publish(
                        row.routing_key, row.body.encode(), message_id=str(row.id)
                    )
                    for row in rows
                ),
                return_exceptions=True,
            )
            sent_ids = []
            for row, outcome in zip(rows, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    await connection.execute(
                        update(table)
                        .where(table.c.id == row.id)
                        .values(attempts=table.c.attempts + 1, last_error=str(outcome)[:2000])
                    )
                else:
                    sent_ids.append(row.id)
                    EVENTS_PUBLISHED.labels(type=row.routing_key).inc()
            if sent_ids:
                await connection.execute(_MARK_SENT, {"ids": sent_ids, "now": datetime.now(UTC)})
            failed = len(rows) - len(sent_ids)
            if failed:
                log.warning("%d outbox rows not confirmed; will retry", failed)
            return len(sent_ids), len(rows)

    async def _prune_if_due(self) -> None:
        """Delete rows published longer ago than the retention; they only serve audit."""
        if time.monotonic() - self._last_prune < self._prune_every_seconds:
            return
        self._last_prune = time.monotonic()
        cutoff = datetime.now(UTC) - self._retention
        async with self._engine.begin() as connection:
            await connection.execute(delete(table).where(table.c.published_at < cutoff))

    async def _update_backlog_if_due(self) -> None:
        """Count the backlog at most once per sweep interval, not after every commit."""
        if time.monotonic() - self._last_backlog_count < self._sweep_seconds:
            return
        self._last_backlog_count = time.monotonic()
        await self._update_backlog()

    async def _update_backlog(self) -> None:
        async with self._engine.connect() as connection:
            query = select(func.count()).where(table.c.published_at.is_(None))
            OUTBOX_BACKLOG.set((await connection.execute(query)).scalar_one())
