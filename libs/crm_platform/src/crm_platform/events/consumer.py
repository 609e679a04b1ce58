"""The consumer: one quorum queue per service, idempotent handlers, retries, parking.

A handler runs inside a transaction that also records the event id in the inbox; the message
is acked only after that commits, so a crash redelivers and the inbox turns the redelivery
into a no-op. A failing handler is retried through TTL queues with growing delays and parked
with its error after ``max_attempts``.

Deliveries are handled in batches: whatever has arrived while the previous batch committed,
or within ``batch_window_seconds`` of a batch's first event (up to ``batch_size``), runs in
one transaction with one multi-row inbox insert, then one ack (``multiple``) settles the
batch. Under load this turns a commit per event into a commit per batch; at
a trickle a batch is one event, so nothing waits for a batch to fill. If any handler of a
batch fails, the whole transaction rolls back and its messages are handled one by one, each
in its own transaction, so one bad event never costs the others a retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events.broker import (
    CLOSE_TIMEOUT_SECONDS,
    CONNECT_TIMEOUT_SECONDS,
    QueueNames,
    build_message,
    declare_exchange,
)
from crm_platform.events.envelope import CloudEvent
from crm_platform.events.inbox import record_in_inbox
from crm_platform.logging import correlation_id_var
from crm_platform.metrics import (
    BROKER_CONNECTED,
    EVENT_HANDLING,
    EVENT_LAG,
    EVENTS_CONSUMED,
    EVENTS_PARKED,
)

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Delivery:
    message: AbstractIncomingMessage
    event: CloudEvent
    handler: Handler
    attempt: int


ATTEMPT_HEADER = "x-crm-attempt"
ERROR_HEADER = "x-crm-error"
PARKED_AT_HEADER = "x-crm-parked-at"
MAX_ERROR_CHARS = 2000


def declare_args_for_retry(main_queue: str, delay_ms: int) -> dict[str, object]:
    return {
        "x-message-ttl": delay_ms,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": main_queue,
    }


async def declare_service_queues(
    channel: AbstractChannel,
    *,
    names: QueueNames,
    exchange_name: str,
    routing_keys: Iterable[str],
    retry_delays_ms: Iterable[int],
) -> aio_pika.abc.AbstractQueue:
    """Declare (idempotently) the main quorum queue, its bindings, retry tiers and parking."""
    exchange = await declare_exchange(channel, exchange_name)
    queue = await channel.declare_queue(
        names.main, durable=True, arguments={"x-queue-type": "quorum"}
    )
    for routing_key in routing_keys:
        await queue.bind(exchange, routing_key=routing_key)
    for delay in sorted(set(retry_delays_ms)):
        await channel.declare_queue(
            names.retry(delay), durable=True, arguments=declare_args_for_retry(names.main, delay)
        )
    await channel.declare_queue(names.parked, durable=True)
    return queue


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
    ) -> None:
        self.names = QueueNames(service)
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
        self._connection: AbstractConnection | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._closed = asyncio.Event()

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

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
                log.warning("consumer connection closed; reconnecting")
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
        connection = await aio_pika.connect(self._url, timeout=CONNECT_TIMEOUT_SECONDS)
        self._connection = connection
        connection.close_callbacks.add(lambda *_: closed.set())
        publish_channel = await connection.channel(publisher_confirms=True)
        publish_channel.close_callbacks.add(lambda *_: closed.set())
        await declare_service_queues(
            publish_channel,
            names=self.names,
            exchange_name=self._exchange_name,
            routing_keys=self._handlers.keys(),
            retry_delays_ms=self._retry_delays_ms,
        )
        # A channel per worker: a worker handles its channel's deliveries in order, so when a
        # batch commits, every earlier delivery of that channel is settled and one ack with
        # ``multiple`` settles the batch (one frame, and one settle in the quorum queue's log,
        # instead of one per event).
        per_worker = max(1, self._prefetch // self._worker_count)
        self._workers = []
        for n in range(self._worker_count):
            channel = await connection.channel()
            channel.close_callbacks.add(lambda *_: closed.set())
            await channel.set_qos(prefetch_count=per_worker)
            queue = await channel.declare_queue(self.names.main, passive=True)
            buffer: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
            await queue.consume(buffer.put)  # at most ``per_worker`` unacked: bounded
            self._workers.append(
                asyncio.create_task(self._work(buffer, publish_channel), name=f"consumer-{n}")
            )
        BROKER_CONNECTED.labels(role="consumer").set(1)
        self._ready.set()
        log.info("consuming %s for %s", self.names.main, sorted(self._handlers))

    async def _close(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:  # their unacked messages are redelivered to the next connection
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_SECONDS)
            except Exception:
                log.debug("closing a broken consumer connection failed", exc_info=True)

    async def _work(
        self, buffer: asyncio.Queue[AbstractIncomingMessage], publish_channel: AbstractChannel
    ) -> None:
        """Take what has arrived (at least one message, at most a batch) and handle it."""
        while True:
            batch = [await buffer.get()]
            if self._batch_window_seconds > 0 and buffer.empty():
                await asyncio.sleep(self._batch_window_seconds)  # let the moment's events join
            while len(batch) < self._batch_size and not buffer.empty():
                batch.append(buffer.get_nowait())
            try:
                await self._handle_batch(batch, publish_channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one batch end the worker: unacked ones come back
                log.exception("consumer worker failed on a batch of %d", len(batch))

    async def _handle_batch(
        self, messages: list[AbstractIncomingMessage], publish_channel: AbstractChannel
    ) -> None:
        deliveries: list[_Delivery] = []
        for message in messages:
            delivery = await self._read(message, publish_channel)
            if delivery is not None:
                deliveries.append(delivery)
        if len(deliveries) == 1:
            await self._handle_one(deliveries[0], publish_channel)
            return
        if not deliveries:
            return
        started = time.perf_counter()
        try:
            outcomes = await self._apply_together(deliveries)
        except Exception:
            log.info("a batch of %d failed; handling its events one by one", len(deliveries))
            for delivery in deliveries:
                await self._handle_one(delivery, publish_channel)
            return
        elapsed = time.perf_counter() - started
        # Every delivery of this worker's channel up to the batch's last one is either in the
        # batch or settled already (unreadable, unhandled): one ack settles them all.
        await _settle(deliveries[-1].message, multiple=True)
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            self._observe(delivery.event, outcome, elapsed)

    async def _read(
        self, message: AbstractIncomingMessage, publish_channel: AbstractChannel
    ) -> _Delivery | None:
        """The event and its handler; None when the message was settled here already."""
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1) or 1)
        try:
            event_ = CloudEvent.from_bytes(message.body)
        except ValidationError as exc:
            # Not an event we can ever read: retrying cannot help.
            await self._park(
                message, publish_channel, f"unreadable envelope: {exc}", attempt, "unknown"
            )
            return None
        handler = self._handlers.get(event_.routing_key)
        if handler is None:
            EVENTS_CONSUMED.labels(type=event_.routing_key, outcome="unhandled").inc()
            await _settle(message)
            return None
        return _Delivery(message, event_, handler, attempt)

    async def _apply_together(self, deliveries: list[_Delivery]) -> list[str]:
        """All handlers of a batch in one transaction; raises if any of them fails."""
        async with self._sessionmaker() as session, session.begin():
            fresh = await record_in_inbox(session, [d.event for d in deliveries])
            outcomes = []
            for delivery in deliveries:
                if delivery.event.id not in fresh:
                    outcomes.append("duplicate")
                    continue
                fresh.discard(delivery.event.id)  # the same event twice in a batch runs once
                token = correlation_id_var.set(
                    delivery.event.correlationid or str(delivery.event.id)
                )
                try:
                    await delivery.handler(session, delivery.event)
                finally:
                    correlation_id_var.reset(token)
                outcomes.append("handled")
        return outcomes

    async def _handle_one(self, delivery: _Delivery, publish_channel: AbstractChannel) -> None:
        """One event in its own transaction; a failure is retried later or parked."""
        message, event_, attempt = delivery.message, delivery.event, delivery.attempt
        event_type = event_.routing_key
        token = correlation_id_var.set(event_.correlationid or str(event_.id))
        started = time.perf_counter()
        try:
            async with self._sessionmaker() as session, session.begin():
                if event_.id in await record_in_inbox(session, [event_]):
                    await delivery.handler(session, event_)
                    outcome = "handled"
                else:
                    outcome = "duplicate"
        except Exception as exc:
            log.warning(
                "handling %s %s failed (attempt %d)", event_type, event_.id, attempt, exc_info=True
            )
            error = f"{type(exc).__name__}: {exc}"
            if attempt >= self._max_attempts:
                await self._park(message, publish_channel, error, attempt, event_type)
            else:
                await self._retry(message, publish_channel, error, attempt, event_type)
            return
        finally:
            correlation_id_var.reset(token)
        await _settle(message)
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
        channel: AbstractChannel,
        error: str,
        attempt: int,
        event_type: str,
    ) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt + 1
        headers[ERROR_HEADER] = error[:MAX_ERROR_CHARS]
        await self._forward(message, channel, self.names.retry(self._retry_delay(attempt)), headers)
        EVENTS_CONSUMED.labels(type=event_type, outcome="retried").inc()

    async def _park(
        self,
        message: AbstractIncomingMessage,
        channel: AbstractChannel,
        error: str,
        attempt: int,
        event_type: str,
    ) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt
        headers[ERROR_HEADER] = error[:MAX_ERROR_CHARS]
        headers[PARKED_AT_HEADER] = datetime.now(UTC).isoformat()
        await self._forward(message, channel, self.names.parked, headers)
        EVENTS_CONSUMED.labels(type=event_type, outcome="parked").inc()
        EVENTS_PARKED.labels(type=event_type).inc()
        log.error(
            "parked %s %s after %d attempts: %s", event_type, message.message_id, attempt, error
        )

    async def _forward(
        self,
        message: AbstractIncomingMessage,
        channel: AbstractChannel,
        queue_name: str,
        headers: dict[str, object],
    ) -> None:
        """Copy the message to another queue (confirmed), then ack the original.

        If the copy is not confirmed the original is requeued, so nothing is lost; a
        duplicate copy is harmless because the inbox makes handling idempotent.
        """
        try:
            await channel.default_exchange.publish(
                build_message(message.body, message_id=message.message_id or "", headers=headers),
                routing_key=queue_name,
                timeout=10,
            )
        except Exception:
            log.warning("could not move message to %s; requeueing", queue_name, exc_info=True)
            await _settle(message, requeue=True)
            return
        await _settle(message)


async def _settle(
    message: AbstractIncomingMessage, *, requeue: bool | None = None, multiple: bool = False
) -> None:
    """Ack (or requeue) if the channel still lives; if it died the broker redelivers anyway.

    ``multiple``: also ack every earlier delivery of the channel still unacked."""
    try:
        if requeue:
            await message.nack(requeue=True)
        else:
            await message.ack(multiple=multiple)
    except Exception:
        log.info(
            "could not settle message %s: channel gone, it will be redelivered", message.message_id
        )
