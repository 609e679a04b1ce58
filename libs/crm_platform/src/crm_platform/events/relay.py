"""The outbox relay: publishes committed outbox rows and marks them sent after the broker's ack.

Two paths, one rule (a row is marked sent only after the broker confirmed it), and no
transaction is ever held across a network call (claim, commit, publish, mark):

- **Hand-off.** A commit in this process hands the rows it wrote to the relay of the same
  database (``outbox.outbox_hand_off``), which publishes them at once, without reading them
  back, and marks them in one statement. This is the path of nearly every event: the
  commit-to-publish delay is the broker's confirm plus one statement. The hand-off is
  bounded (``handoff_capacity`` rows waiting); past it, and whenever the broker is known to be
  unavailable, rows are left to the sweep, which finds them in the table.
- **Sweep.** Every ``sweep_seconds`` the relay publishes what no relay is publishing: rows of
  another process (a replica whose relay is off), rows whose hand-off failed or was dropped,
  rows left by a crash between commit and publish. It *claims* rows in one short
  transaction (``claimed_until`` = the database's now + ``claim_seconds``, 30 s; ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, the write lock for that one statement on SQLite), commits, then
  publishes, then marks. Another relay, in this process or another, skips a claimed row. It
  takes only rows older than ``handoff_grace_seconds`` by the database's clock: younger ones
  belong to the hand-off of the process that wrote them.

A row the broker refused (returned even by the alternate exchange, nacked) backs off on its
own (``claimed_until`` = now + 2^attempts s, at most ``max_backoff_seconds``) and never holds
back newer rows: a sweep takes the oldest rows *not* backing off, and goes on after a batch
with failures. A row that failed because the connection did, not the row, is left eligible.

**No row twice from one process.** The hand-off publishes a row only within
``handoff_grace_seconds`` x 0.4 of its commit, and waits at most as long again for the
broker's confirm, so it is done with a row well before a sweep may take it; the rows of the
hand-off's passes being marked are excluded from this relay's sweeps. Across processes a row
can be published twice only if a hand-off's publish-and-mark outlives the grace (a stalled
database) or a process dies between publish and mark; the consumers' inboxes absorb that copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import URL, Update, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_platform.db import delete_in_chunks
from crm_platform.db_clock import seconds_param, utc_now, utc_now_plus
from crm_platform.events.broker import EventPublisher, PublishFailed
from crm_platform.events.outbox import OutboxMessage, outbox_hand_off
from crm_platform.metrics import EVENTS_PUBLISHED, OUTBOX_HANDOFF_LEFT_TO_SWEEP

log = logging.getLogger(__name__)

table = OutboxMessage.__table__
PASSES_IN_FLIGHT = 2  # one publishing while the next gathers what was committed meanwhile
HANDOFF_SHARE_OF_GRACE = 0.4  # of the grace: to start publishing, and again to be confirmed
MAX_ERROR_CHARS = 2000

_MARK_SENT = (
    update(table)
    .where(table.c.id.in_(bindparam("ids", expanding=True)), table.c.published_at.is_(None))
    .values(published_at=utc_now(), claimed_until=None)
)
# One statement per failed row, executemany: the error is the row's own. A refused row backs
# off; one whose connection failed stays eligible for the next sweep.
_MARK_REFUSED = (
    update(table)
    .where(table.c.id == bindparam("row_id"), table.c.published_at.is_(None))
    .values(
        attempts=table.c.attempts + 1,
        last_error=bindparam("error"),
        claimed_until=utc_now_plus(seconds_param("delay")),
    )
)
_MARK_UNSENT = (
    update(table)
    .where(table.c.id == bindparam("row_id"), table.c.published_at.is_(None))
    .values(attempts=table.c.attempts + 1, last_error=bindparam("error"), claimed_until=None)
)


def _claim_statement(dialect: str) -> Update:
    """Claim the oldest unpublished rows older than the grace and claimed by nobody (or
    whose claim or back-off ran out), at most ``:limit``, and none this relay is marking."""
    pending = (
        select(table.c.id)
        .where(
            table.c.published_at.is_(None),
            table.c.created_at <= utc_now_plus(seconds_param("not_after")),
            or_(table.c.claimed_until.is_(None), table.c.claimed_until <= utc_now()),
            table.c.id.not_in(bindparam("in_flight", expanding=True)),
        )
        .order_by(table.c.created_at)
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        pending = pending.with_for_update(skip_locked=True)
    return (
        update(table)
        .where(table.c.id.in_(pending.scalar_subquery()))
        .values(claimed_until=utc_now_plus(seconds_param("claim")))
        .returning(table.c.id, table.c.routing_key, table.c.body, table.c.attempts)
    )


@dataclass(frozen=True)
class _HandedOff:
    row: Mapping[str, Any]
    committed_at: float  # monotonic


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        publisher: EventPublisher,
        *,
        batch_size: int = 200,
        sweep_seconds: float = 2.0,
        batch_window_seconds: float = 0.0,
        handoff_grace_seconds: float = 10.0,
        handoff_capacity: int = 10_000,
        claim_seconds: float = 30.0,
        max_backoff_seconds: float = 300.0,
    ) -> None:
        self._engine = engine
        self._claim = {d: _claim_statement(d) for d in ("postgresql", "sqlite")}
        self._publisher = publisher
        self._batch_size = batch_size
        self._sweep_seconds = sweep_seconds
        self._drain_lock = asyncio.Lock()
        # After a hand-off, let the commits of this moment join the same batch: one publish
        # round and one UPDATE for all of them, and bigger batches for every consumer.
        self._batch_window_seconds = batch_window_seconds
        self._grace_seconds = handoff_grace_seconds
        self._handoff_seconds = handoff_grace_seconds * HANDOFF_SHARE_OF_GRACE
        self._handoff_capacity = handoff_capacity
        self._claim_seconds = claim_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._handed_off: deque[_HandedOff] = deque()
        self._handed_off_ready = asyncio.Event()
        self._in_flight_ids: set[Any] = set()

    @property
    def database(self) -> URL:
        return self._engine.url

    def take(self, rows: list[Mapping[str, Any]], committed_at: float) -> None:
        """Rows a commit of this process just wrote (called by ``outbox_hand_off``)."""
        room = self._handoff_capacity - len(self._handed_off)
        if room < len(rows):
            OUTBOX_HANDOFF_LEFT_TO_SWEEP.inc(len(rows) - max(room, 0))
            rows = rows[: max(room, 0)]
        self._handed_off.extend(_HandedOff(row, committed_at) for row in rows)
        if self._handed_off:
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
                rows = self._next_handed_off_batch()
                if not rows:
                    continue
                task = asyncio.create_task(self._publish_handed_off(rows), name="outbox-relay")
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        finally:
            outbox_hand_off.unregister(self)
            sweeper.cancel()
            for task in in_flight:
                task.cancel()

    def _next_handed_off_batch(self) -> list[Mapping[str, Any]]:
        """Up to a batch of handed rows still young enough for the hand-off to publish; the
        rest (too old, or the broker known to be down) are left to the sweep."""
        deadline = time.monotonic() - self._handoff_seconds
        broker_down = not self._publisher.available
        rows: list[Mapping[str, Any]] = []
        left = 0
        while self._handed_off and len(rows) < self._batch_size:
            handed = self._handed_off.popleft()
            if broker_down or handed.committed_at < deadline:
                left += 1
            else:
                rows.append(handed.row)
        if not self._handed_off:
            self._handed_off_ready.clear()
        if left:
            OUTBOX_HANDOFF_LEFT_TO_SWEEP.inc(left)
        return rows

    async def _publish_handed_off(self, rows: list[Mapping[str, Any]]) -> None:
        ids = [row["id"] for row in rows]
        self._in_flight_ids.update(ids)  # this relay's sweeps leave them alone meanwhile
        try:
            outcomes = await self._publish(rows, timeout=self._handoff_seconds)
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
        while True:
            try:
                await self._sweep(not_after_seconds=-self._grace_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox sweep failed; retrying at the next one", exc_info=True)
            await asyncio.sleep(self._sweep_seconds)

    async def _sweep(self, *, not_after_seconds: float) -> int:
        """Publish what is pending, unclaimed and committed before now + ``not_after_seconds``
        (database clock); returns how many rows the broker confirmed."""
        confirmed = 0
        async with self._drain_lock:
            while self._publisher.available:
                rows = await self._claim_batch(not_after_seconds)
                if not rows:
                    break
                outcomes = await self._publish(rows)
                async with self._marking_connection() as connection:
                    confirmed += await self._mark(connection, rows, outcomes)
                transport_failed = any(
                    isinstance(o, PublishFailed) and o.transport for o in outcomes
                )
                if len(rows) < self._batch_size or transport_failed:
                    break
        return confirmed

    async def drain(self) -> int:
        """Publish everything pending and unclaimed now; returns how many were confirmed."""
        return await self._sweep(not_after_seconds=1.0)

    async def _claim_batch(self, not_after_seconds: float) -> Sequence[Mapping[str, Any]]:
        async with self._engine.begin() as connection:
            statement = self._claim[connection.dialect.name]
            params = {
                "limit": self._batch_size,
                "not_after": not_after_seconds,
                "in_flight": list(self._in_flight_ids),
                "claim": self._claim_seconds,
            }
            return (await connection.execute(statement, params)).mappings().all()

    async def _publish(
        self, rows: Sequence[Mapping[str, Any]], timeout: float | None = None
    ) -> list[BaseException | None]:
        """Publish ``rows`` concurrently; each outcome is None (confirmed) or the failure."""
        options = {} if timeout is None else {"timeout": timeout}
        return await asyncio.gather(
            *(
                self._publisher.publish(
                    row["routing_key"], row["body"].encode(), message_id=str(row["id"]), **options
                )
                for row in rows
            ),
            return_exceptions=True,
        )

    def _backoff_seconds(self, attempts: int) -> float:
        return float(min(self._max_backoff_seconds, 2 ** min(attempts, 20)))

    async def _mark(
        self,
        connection: AsyncConnection,
        rows: Sequence[Mapping[str, Any]],
        outcomes: Sequence[BaseException | None],
    ) -> int:
        """Mark the confirmed rows sent; count the others' attempt with its error (they stay
        pending: a refused row backs off, a row whose connection failed stays eligible).
        Returns how many were confirmed."""
        sent_ids = []
        refused: list[dict[str, Any]] = []
        unsent: list[dict[str, Any]] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            if outcome is None:
                sent_ids.append(row["id"])
                EVENTS_PUBLISHED.labels(type=row["routing_key"]).inc()
                continue
            failure = {"row_id": row["id"], "error": str(outcome)[:MAX_ERROR_CHARS]}
            if isinstance(outcome, PublishFailed) and outcome.transport:
                unsent.append(failure)
            else:
                attempts = int(row.get("attempts") or 0) + 1
                refused.append({**failure, "delay": self._backoff_seconds(attempts)})
        if sent_ids:
            await connection.execute(_MARK_SENT, {"ids": sent_ids})
        for statement, failures in ((_MARK_REFUSED, refused), (_MARK_UNSENT, unsent)):
            if failures:
                await connection.execute(statement, failures)
        if refused or unsent:
            log.warning(
                "%d outbox rows refused by the broker (backing off), %d unsent; will retry",
                len(refused),
                len(unsent),
            )
        return len(sent_ids)


# ------------------------------------------------------------------ what operators look at


@dataclass(frozen=True)
class OutboxStatus:
    pending: int
    failing: int  # pending rows with at least one failed attempt
    oldest_pending_age_seconds: float


_STATUS = select(
    func.count(),
    func.count().filter(table.c.attempts > 0),
    func.min(table.c.created_at),
    utc_now(),
).where(table.c.published_at.is_(None))


async def outbox_status(engine: AsyncEngine) -> OutboxStatus:
    async with engine.connect() as connection:
        pending, failing, oldest, now = (await connection.execute(_STATUS)).one()
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxStatus(int(pending), int(failing), max(age, 0.0))


@dataclass(frozen=True)
class PendingRow:
    id: Any
    type: str
    created_at: datetime
    attempts: int
    last_error: str | None
    next_attempt_after: datetime | None


async def list_pending(engine: AsyncEngine, *, failing_only: bool, limit: int) -> list[PendingRow]:
    """Unpublished rows, oldest first; ``failing_only``: those with a failed attempt."""
    query = (
        select(
            table.c.id,
            table.c.routing_key,
            table.c.created_at,
            table.c.attempts,
            table.c.last_error,
            table.c.claimed_until,
        )
        .where(table.c.published_at.is_(None))
        .order_by(table.c.created_at)
        .limit(limit)
    )
    if failing_only:
        query = query.where(table.c.attempts > 0)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        PendingRow(id_, type_, created, attempts, error, claimed)
        for id_, type_, created, attempts, error, claimed in rows
    ]


async def retry_now(engine: AsyncEngine, ids: Sequence[Any] | None) -> int:
    """End the back-off of pending rows (all failing ones, or ``ids``): the next sweep
    publishes them. Returns how many rows it touched."""
    statement = (
        update(table)
        .where(table.c.published_at.is_(None), table.c.attempts > 0)
        .values(claimed_until=None)
    )
    if ids is not None:
        statement = statement.where(table.c.id.in_(list(ids)))
    async with engine.begin() as connection:
        return (await connection.execute(statement)).rowcount or 0


async def prune_published(engine: AsyncEngine, retention_seconds: float) -> int:
    """Delete rows published longer ago than the retention (they only serve audit), a chunk
    per transaction so no lock is held for long. Returns how many were deleted."""
    return await delete_in_chunks(
        engine,
        table,
        table.c.published_at.is_not(None),
        table.c.published_at < utc_now_plus(-retention_seconds),
    )
