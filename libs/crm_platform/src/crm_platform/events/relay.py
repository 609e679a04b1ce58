"""The outbox relay: publishes committed outbox rows and marks them sent after the broker's ack.

Two paths, one rule (a row is marked sent only after the broker confirmed it):

- **Hand-off.** A commit in this process hands the rows it wrote to the relay of the same
  database (``outbox.outbox_hand_off``), which publishes them at once, without reading them
  back, and marks them in one autocommit UPDATE. This is the path of nearly every event:
  the commit-to-publish delay is the broker's confirm plus one statement.
- **Sweep.** Every ``sweep_seconds`` the relay publishes what no relay was handed: rows of
  another process (a replica whose relay is off), rows whose hand-off failed, rows left by
  a crash between commit and publish. It skips rows younger than ``handoff_grace_seconds``
  (another replica's relay may be publishing them right now), except in its first sweep
  after start, which takes every row a crash may have left. On PostgreSQL several relays
  share the outbox through ``FOR UPDATE SKIP LOCKED``; on SQLite one process owns the file.

If a hand-off and a sweep ever publish the same row (a hand-off stuck longer than the grace),
the consumers' inboxes make the second delivery a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import URL, Select, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_platform.events.broker import EventPublisher
from crm_platform.events.outbox import OutboxMessage, outbox_hand_off
from crm_platform.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = logging.getLogger(__name__)

table = OutboxMessage.__table__
PASSES_IN_FLIGHT = 2  # one publishing while the next gathers what was committed meanwhile
_MARK_SENT = (
    update(table)
    .where(table.c.id.in_(bindparam("ids", expanding=True)), table.c.published_at.is_(None))
    .values(published_at=bindparam("now"))
)
_PENDING_BACKLOG = select(func.count()).where(table.c.published_at.is_(None))


def _pending_query(dialect: str) -> Select[Any]:
    """The oldest unpublished rows committed before ``:before``, at most ``:limit``, and none
    this relay is publishing; rows locked by another relay are its own."""
    query = (
        select(table.c.id, table.c.routing_key, table.c.body)
        .where(
            table.c.published_at.is_(None),
            table.c.created_at < bindparam("before"),
            table.c.id.not_in(bindparam("in_flight", expanding=True)),
        )
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
        handoff_grace_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._pending = {d: _pending_query(d) for d in ("postgresql", "sqlite")}
        self._publisher = publisher
        self._batch_size = batch_size
        self._sweep_seconds = sweep_seconds
        self._drain_lock = asyncio.Lock()
        self._retention = retention
        self._prune_every_seconds = prune_every_seconds
        self._last_prune = 0.0
        self._last_backlog_count = 0.0
        # After a hand-off, let the commits of this moment join the same batch: one publish
        # round and one UPDATE for all of them, and bigger batches for every consumer.
        self._batch_window_seconds = batch_window_seconds
        self._handoff_grace = timedelta(seconds=handoff_grace_seconds)
        self._handed_off: deque[Mapping[str, Any]] = deque()
        self._handed_off_ready = asyncio.Event()
        self._in_flight_ids: set[Any] = set()

    @property
    def database(self) -> URL:
        return self._engine.url

    def take(self, rows: list[Mapping[str, Any]]) -> None:
        """Rows a commit of this process just wrote (called by ``outbox_hand_off``)."""
        self._handed_off.extend(rows)
        self._handed_off_ready.set()

    async def run(self) -> None:
        """Publish until cancelled; never dies on a broker or database error."""
        outbox_hand_off.register(self)
        sweeper = asyncio.create_task(self._sweep_forever(), name="outbox-relay-sweep")
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                await self._handed_off_ready.wait()
                if self._batch_window_seconds > 0:
                    await asyncio.sleep(self._batch_window_seconds)
                while len(in_flight) >= PASSES_IN_FLIGHT:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                rows = [
                    self._handed_off.popleft()
                    for _ in range(min(self._batch_size, len(self._handed_off)))
                ]
                if not self._handed_off:
                    self._handed_off_ready.clear()
                task = asyncio.create_task(self._publish_handed_off(rows), name="outbox-relay")
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        finally:
            outbox_hand_off.unregister(self)
            sweeper.cancel()
            for task in in_flight:
                task.cancel()

    async def _publish_handed_off(self, rows: list[Mapping[str, Any]]) -> None:
        ids = [row["id"] for row in rows]
        self._in_flight_ids.update(ids)  # this relay's sweep leaves them alone meanwhile
        try:
            outcomes = await self._publish(rows)
            async with self._marking_connection() as connection:
                await self._mark(connection, rows, outcomes)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("publishing handed-off events failed; the sweep retries", exc_info=True)
        finally:
            self._in_flight_ids.difference_update(ids)

    @contextlib.asynccontextmanager
    async def _marking_connection(self) -> AsyncIterator[AsyncConnection]:
        """One statement per use on PostgreSQL: autocommit, no BEGIN and COMMIT round trips."""
        if self._engine.dialect.name == "postgresql":
            async with self._engine.connect() as connection:
                yield await connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            async with self._engine.begin() as connection:
                yield connection

    async def _sweep_forever(self) -> None:
        first = True
        while True:
            try:
                before = datetime.now(UTC) - (timedelta(0) if first else self._handoff_grace)
                await self._sweep(before)
                first = False
                await self._update_backlog_if_due()
                await self._prune_if_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox sweep failed; retrying at the next one", exc_info=True)
            await asyncio.sleep(self._sweep_seconds)

    async def _sweep(self, before: datetime) -> int:
        """Publish everything pending that was committed before ``before``."""
        confirmed = 0
        async with self._drain_lock:
            while True:
                sent, seen = await self._publish_batch(before)
                confirmed += sent
                if seen < self._batch_size or sent < seen:
                    return confirmed

    async def drain(self) -> int:
        """Publish everything pending now; returns how many rows were confirmed."""
        return await self._sweep(datetime.now(UTC) + timedelta(days=1))

    async def _publish_batch(self, before: datetime) -> tuple[int, int]:
        # Core rows, no ORM session; the rows stay locked until marked.
        async with self._engine.begin() as connection:
            query = self._pending[connection.dialect.name]
            params = {
                "limit": self._batch_size,
                "before": before,
                "in_flight": list(self._in_flight_ids),
            }
            rows = (await connection.execute(query, params)).mappings().all()
            if not rows:
                return 0, 0
            sent = await self._mark(connection, rows, await self._publish(rows))
            return sent, len(rows)

    async def _publish(self, rows: Sequence[Mapping[str, Any]]) -> list[BaseException | None]:
        """Publish ``rows`` concurrently; each outcome is None (confirmed) or the failure."""
        return await asyncio.gather(
            *(
                self._publisher.publish(
                    row["routing_key"], row["body"].encode(), message_id=str(row["id"])
                )
                for row in rows
            ),
            return_exceptions=True,
        )

    async def _mark(
        self,
        connection: AsyncConnection,
        rows: Sequence[Mapping[str, Any]],
        outcomes: Sequence[BaseException | None],
    ) -> int:
        """Mark the confirmed rows sent; count the others' attempt with its error (they stay
        pending). Returns how many were confirmed."""
        sent_ids = []
        for row, outcome in zip(rows, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                await connection.execute(
                    update(table)
                    .where(table.c.id == row["id"])
                    .values(attempts=table.c.attempts + 1, last_error=str(outcome)[:2000])
                )
            else:
                sent_ids.append(row["id"])
                EVENTS_PUBLISHED.labels(type=row["routing_key"]).inc()
        if sent_ids:
            await connection.execute(_MARK_SENT, {"ids": sent_ids, "now": datetime.now(UTC)})
        failed = len(rows) - len(sent_ids)
        if failed:
            log.warning("%d outbox rows not confirmed; will retry", failed)
        return len(sent_ids)

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
            OUTBOX_BACKLOG.set((await connection.execute(_PENDING_BACKLOG)).scalar_one())
