"""The consumer: one quorum queue per service, idempotent handlers, retries, parking.

A handler runs inside a transaction that also records the event id in the inbox; the message
is acked only after that commits, so a crash redelivers and the inbox turns the redelivery
into a no-op. A failing handler is retried through TTL queues with growing delays and parked
with its error after ``max_attempts``; a handler that runs past ``handler_timeout_seconds``
has failed.

Deliveries are handled in batches: whatever has arrived while the previous batch committed,
or within ``batch_window_seconds`` of a batch's first event (up to ``batch_size``), runs in
one transaction with one multi-row inbox insert, then one ack (``multiple``) settles the
batch. Under load this turns a commit per event into a commit per batch; at
a trickle a batch is one event, so nothing waits for a batch to fill. If any handler of a
batch fails, the whole transaction rolls back and its messages are handled one by one, each
in its own transaction, so one bad event never costs the others a retry.

Every delivery of a batch is settled explicitly before the worker takes the next batch
(acked, moved to a retry tier or parking, or requeued if anything unexpected escaped), so a
later ``multiple`` ack never settles a delivery nobody handled.

Failures of the infrastructure are not the event's: when the database, its pool or the
network fails (``is_infrastructure_error``), the worker keeps the batch unsettled, pauses
(0.5 s doubling to 5 s) and tries the same batch again, spending no attempt, so a database
outage of any length parks nothing and reorders nothing. Moving a message to a retry tier or
to parking counts only when the broker confirmed it *and* did not return it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events.broker import (
    CLOSE_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    build_message,
)
from crm_platform.events.envelope import CloudEvent
from crm_platform.events.inbox import record_in_inbox
from crm_platform.events.topology import (
    DELIVERY_LIMIT,
    ConsumerTopology,
    QueueNames,
    declare_topology,
)
from crm_platform.failures import HandlerFailure, is_infrastructure_error
from crm_platform.logging import correlation_id_var
from crm_platform.metrics import (
    BROKER_CONNECTED,
    CONSUMER_CANCELLED,
    CONSUMER_INFRASTRUCTURE_ERRORS,
    CONSUMER_PAUSED,
    EVENT_HANDLING,
    EVENT_LAG,
    EVENTS_CONSUMED,
    EVENTS_PARKED,
)

# A handler under this key (a topic binding matching every routing key) receives every event
# the service has no handler of its own for: the notifier's partner fan-out.
ANY_EVENT = "#"

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]

ATTEMPT_HEADER = "x-crm-attempt"
ERROR_HEADER = "x-crm-error"
PARKED_AT_HEADER = "x-crm-parked-at"
MAX_ERROR_CHARS = 2000
FORWARD_TIMEOUT_SECONDS = 10.0
PAUSE_FIRST_SECONDS = 0.5
PAUSE_MAX_SECONDS = 5.0  # after an outage, back within 5 s


class HandlerTimedOut(HandlerFailure):
    """A handler (or its batch) ran past the consumer's time limit."""


def attempt_of(message: AbstractIncomingMessage) -> int:
    """The attempt a delivery is (1 for a first delivery); a header that is not a positive
    integer counts as a first attempt rather than failing the batch it came in."""
    raw = (message.headers or {}).get(ATTEMPT_HEADER, 1)
    try:
        attempt = int(raw) if not isinstance(raw, bytes) else int(raw.decode())
    except (TypeError, ValueError):
        log.warning("delivery %s has attempt header %r; taken as 1", message.message_id, raw)
        return 1
    return max(attempt, 1)


@dataclass(frozen=True, slots=True)
class _Delivery:
    message: AbstractIncomingMessage
    event: CloudEvent
    handler: Handler
    attempt: int


@dataclass
class _Batch:
    """The deliveries a worker took at once, and which of them are settled."""

    messages: list[AbstractIncomingMessage]
    settled: set[int] = field(default_factory=set)

    def mark_settled(self, message: AbstractIncomingMessage) -> None:
        self.settled.add(message.delivery_tag or 0)

    def unsettled(self) -> list[AbstractIncomingMessage]:
        return [m for m in self.messages if (m.delivery_tag or 0) not in self.settled]


class EventConsumer:
    """Consumes ``<service>.events`` and rebuilds itself after any connection loss."""

    def __init__(
        self,
        *,
        service: str,
        amqp_url: str,
        exchange_name: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: dict[str, Handler],
        prefetch: int = 64,
        batch_size: int = 32,
        batch_window_seconds: float = 0.0,
        workers: int = 1,
        max_attempts: int = 5,
        retry_delays_ms: list[int] | None = None,
        reconnect_seconds: float = 1.0,
        handler_timeout_seconds: float = 30.0,
        delivery_limit: int = DELIVERY_LIMIT,
    ) -> None:
        self._url = amqp_url
        self._exchange_name = exchange_name
        self._sessionmaker = sessionmaker
        self._handlers = dict(handlers)
        self._prefetch = prefetch
        self._batch_size = batch_size
        self._batch_window_seconds = batch_window_seconds
        self._worker_count = workers
        self._workers: list[asyncio.Task[None]] = []
        self._max_attempts = max_attempts
        self._retry_delays_ms = retry_delays_ms or [1000, 5000, 30000]
        self._reconnect_seconds = reconnect_seconds
        self._handler_timeout_seconds = handler_timeout_seconds
        self.topology = ConsumerTopology.of(
            service, self._handlers, self._retry_delays_ms, delivery_limit
        )
        self.names: QueueNames = self.topology.names
        self._connection: AbstractConnection | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._closed = asyncio.Event()
        self._paused_by: str | None = None

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    @property
    def state(self) -> str:
        """``ok`` while subscribed and handling; otherwise why not (readiness)."""
        if not (self._ready.is_set() and self.is_connected):
            return "not consuming"
        if self._paused_by is not None:
            return f"paused: {self._paused_by}"
        return "ok"

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def stop(self) -> None:
        """Ask ``run`` to end. Cancelling alone is not enough: a cancel that lands while
        aio-pika is connecting can be swallowed, and ``run`` would then wait forever."""
        self._stopping = True
        self._closed.set()

    async def run(self) -> None:
        """Consume until stopped or cancelled, reconnecting with backoff after every loss."""
        backoff = self._reconnect_seconds
        while not self._stopping:
            closed = self._closed = asyncio.Event()
            try:
                await self._connect_and_consume(closed)
                backoff = self._reconnect_seconds
                if not self._stopping:
                    await closed.wait()
                if self._stopping:
                    break
                log.warning("consumer connection closed or cancelled; subscribing again")
            except asyncio.CancelledError:
                await self._close()
                raise
            except Exception as exc:
                log.warning("consumer cannot connect (%r); retrying in %.1fs", exc, backoff)
            self._ready.clear()
            BROKER_CONNECTED.labels(role="consumer").set(0)
            await self._close()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
        self._ready.clear()
        BROKER_CONNECTED.labels(role="consumer").set(0)
        await self._close()

    async def _connect_and_consume(self, closed: asyncio.Event) -> None:
        # The whole topology first (idempotent): a queue deleted or re-created by an operator
        # comes back with its bindings, delivery limit and parking before we subscribe.
        await declare_topology(self._url, self._exchange_name, self.topology)
        connection = await aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT_SECONDS)
        self._connection = connection
        connection.close_callbacks.add(lambda *_: closed.set())
        # Moves to retry tiers and parking: confirmed, and a return is a failure.
        publish_channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        publish_channel.close_callbacks.add(lambda *_: closed.set())
        # A channel per worker: a worker handles its channel's deliveries in order, so when a
        # batch commits, every earlier delivery of that channel is settled and one ack with
        # ``multiple`` settles the batch (one frame, and one settle in the quorum queue's log,
        # instead of one per event).
        per_worker = max(1, self._prefetch // self._worker_count)
        self._workers = []
        for n in range(self._worker_count):
            channel = await connection.channel()
            channel.close_callbacks.add(lambda *_: closed.set())
            underlay = await channel.get_underlay_channel()
            underlay.on_consumer_cancel_callbacks.add(
                lambda frame: self._on_cancelled_by_broker(frame, closed)
            )
            await channel.set_qos(prefetch_count=per_worker)
            queue = await channel.declare_queue(self.names.main, passive=True)
            buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            await queue.consume(buffer.put)  # at most ``per_worker`` unacked: bounded
            self._workers.append(
                asyncio.create_task(
                    self._work(buffer, publish_channel, closed), name=f"consumer-{n}"
                )
            )
        BROKER_CONNECTED.labels(role="consumer").set(1)
        self._ready.set()
        log.info("consuming %s for %s", self.names.main, sorted(self._handlers))

    def _on_cancelled_by_broker(self, frame: object, closed: asyncio.Event) -> None:
        """The queue was deleted (or re-created): the channel lives on but nothing arrives.
        Rebuild: declare the topology again and subscribe anew."""
        log.warning("broker cancelled the consumer of %s (%r)", self.names.main, frame)
        CONSUMER_CANCELLED.inc()
        self._ready.clear()
        closed.set()

    async def _close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:  # their unacked messages are redelivered to the next connection
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._set_paused(None)
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_SECONDS)
            except Exception:
                log.debug("closing a broken consumer connection failed", exc_info=True)

    async def _work(
        self,
        buffer: asyncio.Queue[AbstractIncomingMessage],
        publish_channel: AbstractChannel,
        closed: asyncio.Event,
    ) -> None:
        """Take what has arrived (at least one message, at most a batch) and handle it."""
        while True:
            messages = [await buffer.get()]
            if self._batch_window_seconds > 0 and buffer.empty():
                await asyncio.sleep(self._batch_window_seconds)  # let the moment's events join
            while len(messages) < self._batch_size and not buffer.empty():
                messages.append(buffer.get_nowait())
            batch = _Batch(messages)
            try:
                await self._handle_batch(batch, publish_channel, closed)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one batch end the worker, nor leave it unsettled
                log.exception("consumer worker failed on a batch of %d", len(messages))
            finally:
                for message in batch.unsettled():
                    await _settle(message, batch, requeue=True)

    async def _handle_batch(
        self, batch: _Batch, publish_channel: AbstractChannel, closed: asyncio.Event
    ) -> None:
        deliveries: list[_Delivery] = []
        for message in batch.messages:
            delivery = await self._read(message, batch, publish_channel, closed)
            if delivery is not None:
                deliveries.append(delivery)
        if len(deliveries) == 1:
            await self._handle_one(deliveries[0], batch, publish_channel, closed)
            return
        if not deliveries:
            return
        started = time.perf_counter()
        try:
            outcomes = await self._until_infrastructure_recovers(
                lambda: self._apply_together(deliveries), closed
            )
        except Exception:
            log.info("a batch of %d failed; handling its events one by one", len(deliveries))
            for delivery in deliveries:
                await self._handle_one(delivery, batch, publish_channel, closed)
            return
        elapsed = time.perf_counter() - started
        # Every delivery of this worker's channel up to the batch's last one is either in the
        # batch or settled already (each batch is settled before the next is taken): one ack
        # settles them all.
        await _settle(deliveries[-1].message, batch, multiple=True)
        for delivery in deliveries:
            batch.mark_settled(delivery.message)
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            self._observe(delivery.event, outcome, elapsed)

    async def _until_infrastructure_recovers(
        self, attempt: Callable[[], Awaitable[list[str]]], closed: asyncio.Event
    ) -> list[str]:
        """Run ``attempt``; while it fails for the infrastructure, pause and run it again
        (spending no attempt of the events). A handler's own failure is raised."""
        pause = PAUSE_FIRST_SECONDS
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                if not is_infrastructure_error(exc) or closed.is_set():
                    raise
                CONSUMER_INFRASTRUCTURE_ERRORS.inc()
                self._set_paused(f"{type(exc).__name__}: {exc}"[:200])
                log.warning("infrastructure failure (%r); trying again in %.1fs", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, PAUSE_MAX_SECONDS)
                continue
            self._set_paused(None)
            return result

    def _set_paused(self, reason: str | None) -> None:
        self._paused_by = reason
        CONSUMER_PAUSED.set(0 if reason is None else 1)

    async def _read(
        self,
        message: AbstractIncomingMessage,
        batch: _Batch,
        publish_channel: AbstractChannel,
        closed: asyncio.Event,
    ) -> _Delivery | None:
        """The event and its handler; None when the message was settled here already."""
        attempt = attempt_of(message)
        try:
            event_ = CloudEvent.from_bytes(message.body)
        except ValidationError as exc:
            # Not an event we can ever read: retrying cannot help.
            await self._park(
                message, batch, publish_channel, closed, f"unreadable envelope: {exc}", attempt
            )
            return None
        handler = self._handlers.get(event_.routing_key) or self._handlers.get(ANY_EVENT)
        if handler is None:
            EVENTS_CONSUMED.labels(type=event_.routing_key, outcome="unhandled").inc()
            await _settle(message, batch)
            return None
        return _Delivery(message, event_, handler, attempt)

    async def _run_handler(self, session: AsyncSession, delivery: _Delivery) -> None:
        token = correlation_id_var.set(delivery.event.correlationid or str(delivery.event.id))
        try:
            await delivery.handler(session, delivery.event)
        finally:
            correlation_id_var.reset(token)

    async def _within_time_limit(self, work: Awaitable[list[str]]) -> list[str]:
        limit = asyncio.timeout(self._handler_timeout_seconds)
        try:
            async with limit:
                return await work
        except TimeoutError as exc:
            if limit.expired():
                raise HandlerTimedOut(
                    f"handling took longer than {self._handler_timeout_seconds}s"
                ) from exc
            raise

    async def _apply_together(self, deliveries: list[_Delivery]) -> list[str]:
        """All handlers of a batch in one transaction; raises if any of them fails."""
        return await self._within_time_limit(self._apply_in_one_transaction(deliveries))

    async def _apply_in_one_transaction(self, deliveries: list[_Delivery]) -> list[str]:
        async with self._sessionmaker() as session, session.begin():
            fresh = await record_in_inbox(session, [d.event for d in deliveries])
            outcomes = []
            for delivery in deliveries:
                if delivery.event.id not in fresh:
                    outcomes.append("duplicate")
                    continue
                fresh.discard(delivery.event.id)  # the same event twice in a batch runs once
                await self._run_handler(session, delivery)
                outcomes.append("handled")
        return outcomes

    async def _handle_one(
        self,
        delivery: _Delivery,
        batch: _Batch,
        publish_channel: AbstractChannel,
        closed: asyncio.Event,
    ) -> None:
        """One event in its own transaction; a failure is retried later or parked."""
        message, event_, attempt = delivery.message, delivery.event, delivery.attempt
        started = time.perf_counter()
        try:
            [outcome] = await self._until_infrastructure_recovers(
                lambda: self._apply_together([delivery]), closed
            )
        except Exception as exc:
            if is_infrastructure_error(exc):  # the connection closed meanwhile: redelivered
                raise
            log.warning(
                "handling %s %s failed (attempt %d)",
                event_.routing_key,
                event_.id,
                attempt,
                exc_info=True,
            )
            error = f"{type(exc).__name__}: {exc}"
            if attempt >= self._max_attempts:
                await self._park(message, batch, publish_channel, closed, error, attempt)
            else:
                await self._retry(message, batch, publish_channel, closed, error, attempt)
            return
        await _settle(message, batch)
        self._observe(event_, outcome, time.perf_counter() - started)

    @staticmethod
    def _observe(event_: CloudEvent, outcome: str, elapsed: float) -> None:
        event_type = event_.routing_key
        EVENTS_CONSUMED.labels(type=event_type, outcome=outcome).inc()
        EVENT_HANDLING.labels(type=event_type).observe(elapsed)
        if outcome == "handled":
            lag = (datetime.now(UTC) - event_.time).total_seconds()
            EVENT_LAG.labels(type=event_type).observe(max(lag, 0.0))

    def _retry_delay(self, attempt: int) -> int:
        return self._retry_delays_ms[min(attempt - 1, len(self._retry_delays_ms) - 1)]

    async def _retry(
        self,
        message: AbstractIncomingMessage,
        batch: _Batch,
        channel: AbstractChannel,
        closed: asyncio.Event,
        error: str,
        attempt: int,
    ) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt + 1
        headers[ERROR_HEADER] = error[:MAX_ERROR_CHARS]
        target = self.names.retry(self._retry_delay(attempt))
        if await self._forward(message, batch, channel, closed, target, headers):
            EVENTS_CONSUMED.labels(type=_type_of(message), outcome="retried").inc()

    async def _park(
        self,
        message: AbstractIncomingMessage,
        batch: _Batch,
        channel: AbstractChannel,
        closed: asyncio.Event,
        error: str,
        attempt: int,
    ) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt
        headers[ERROR_HEADER] = error[:MAX_ERROR_CHARS]
        headers[PARKED_AT_HEADER] = datetime.now(UTC).isoformat()
        if not await self._forward(message, batch, channel, closed, self.names.parked, headers):
            return
        event_type = _type_of(message)
        EVENTS_CONSUMED.labels(type=event_type, outcome="parked").inc()
        EVENTS_PARKED.labels(type=event_type).inc()
        log.error(
            "parked %s %s after %d attempts: %s", event_type, message.message_id, attempt, error
        )

    async def _forward(
        self,
        message: AbstractIncomingMessage,
        batch: _Batch,
        channel: AbstractChannel,
        closed: asyncio.Event,
        queue_name: str,
        headers: dict[str, object],
    ) -> bool:
        """Copy the message to another queue, then ack the original; True if it moved.

        The copy counts only when the broker confirmed it and did not return it (a missing
        target queue returns it). Otherwise the original is requeued, so nothing is lost, and
        the consumer rebuilds its topology (which declares the missing queue) before going
        on. A duplicate copy is harmless: the inbox makes handling idempotent.
        """
        try:
            await channel.default_exchange.publish(
                build_message(message.body, message_id=message.message_id or "", headers=headers),
                routing_key=queue_name,
                mandatory=True,
                timeout=FORWARD_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            log.warning(
                "could not move message %s to %s (%r); requeueing it and rebuilding the topology",
                message.message_id,
                queue_name,
                exc,
            )
            await _settle(message, batch, requeue=True)
            closed.set()
            return False
        await _settle(message, batch)
        return True


def _type_of(message: AbstractIncomingMessage) -> str:
    try:
        return CloudEvent.from_bytes(message.body).routing_key
    except ValidationError:
        return "unknown"


async def _settle(
    message: AbstractIncomingMessage,
    batch: _Batch,
    *,
    requeue: bool = False,
    multiple: bool = False,
) -> None:
    """Ack (or requeue) if the channel still lives; if it died the broker redelivers anyway.

    ``multiple``: also ack every earlier delivery of the channel still unacked."""
    batch.mark_settled(message)
    try:
        if requeue:
            await message.nack(requeue=True)
        else:
            await message.ack(multiple=multiple)
    except Exception:
        log.info(
            "could not settle message %s: channel gone, it will be redelivered", message.message_id
        )
