"""Broker connections that heal themselves.

We use plain (non-robust) aio-pika connections and rebuild channels, topology and consumers
ourselves after any close: aio-pika's robust connection has known gaps restoring consumers,
and an explicit rebuild is easy to reason about and to test.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange

from crm_platform.events.envelope import CONTENT_TYPE
from crm_platform.events.topology import QueueNames, exchange_arguments
from crm_platform.metrics import BROKER_CONNECTED

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 3.0  # a half-dead connection must not hold up shutdown
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 30.0

__all__ = ["BrokerUnavailable", "EventPublisher", "PublishFailed", "QueueNames"]


class PublishFailed(Exception):
    """The broker did not confirm a message (nack, return, timeout or lost connection).

    ``transport``: the connection failed, not this message; publishing it again once the
    broker is back will do. Otherwise the broker refused this message (returned, nacked)
    and its outbox row backs off on its own.
    """

    def __init__(self, message: str, *, transport: bool) -> None:
        super().__init__(message)
        self.transport = transport


class BrokerUnavailable(PublishFailed):
    """No connection, and the next attempt to open one is not due yet."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transport=True)


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The events exchange as the topology step declares it (with its alternate exchange)."""
    return await channel.declare_exchange(
        name, aio_pika.ExchangeType.TOPIC, durable=True, arguments=exchange_arguments(name)
    )


def build_message(
    body: bytes, *, message_id: str, headers: dict[str, object] | None = None
) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=message_id,
        timestamp=datetime.now(UTC),
        headers=headers or {},
    )


class _DeepBufferConnection(aiormq.Connection):
    """aiormq queues a connection's outgoing frames in a queue of 10 (FRAME_BUFFER_SIZE).

    Past that, each publish waits for the writer task to take one frame: one event-loop turn
    per message. In a loop busy with requests a turn lasts milliseconds, and a relay batch of
    200 took 2 s to publish (0.1 s with a deep queue; 20 ms on an idle loop either way).
    """

    FRAME_BUFFER_SIZE = 4096


class EventPublisher:
    """Publishes with confirms, persistent and mandatory; a return or nack is a failure.

    It speaks aiormq (aio-pika's own protocol layer) directly: aio-pika does not let a
    channel's frame buffer be sized (its default of 10 had the broker's confirms, too, taken
    one per event-loop turn), nor publish without waiting for each socket drain.

    One reconnect for everybody: publishes that find no connection share one attempt to open
    one (the others wait for its outcome under the lock), and after a failed attempt they
    fail at once (``BrokerUnavailable``) until the next attempt is due, with the delay
    doubling from 0.5 s to 30 s. Against a broker that does not answer, each publish used to
    make its own 5 s attempt in turn: a relay batch of 200 took about 1,000 s.
    """

    def __init__(self, amqp_url: str, exchange_name: str, *, role: str = "publisher") -> None:
        self._url = amqp_url
        self._exchange_name = exchange_name
        self._role = role
        self._lock = asyncio.Lock()
        self._connection: aiormq.Connection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None
        self._retry_at = 0.0  # monotonic; no connection attempt before it
        self._backoff = RECONNECT_FIRST_SECONDS
        self._last_error = ""

    @property
    def is_connected(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    @property
    def available(self) -> bool:
        """Connected, or an attempt to connect is due: worth handing rows to."""
        return self.is_connected or time.monotonic() >= self._retry_at

    async def ensure_connected(self) -> aiormq.abc.AbstractChannel:
        if self._channel is not None and self.is_connected:
            return self._channel
        self._refuse_until_due()
        async with self._lock:
            if self._channel is not None and self.is_connected:
                return self._channel
            self._refuse_until_due()  # the attempt we waited for failed: share its outcome
            try:
                channel = await self._connect()
            except Exception as exc:
                self._last_error = repr(exc)
                self._retry_at = time.monotonic() + self._backoff
                log.warning(
                    "broker connection failed (%r); next attempt in %.1fs", exc, self._backoff
                )
                self._backoff = min(self._backoff * 2, RECONNECT_MAX_SECONDS)
                raise
            self._backoff = RECONNECT_FIRST_SECONDS
            self._retry_at = 0.0
            return channel

    def _refuse_until_due(self) -> None:
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise BrokerUnavailable(
                f"broker unavailable ({self._last_error}); next attempt in {wait:.1f}s"
            )

    async def _connect(self) -> aiormq.abc.AbstractChannel:
        await self._close_quietly()
        try:
            connection = _DeepBufferConnection(self._url)
            self._connection = connection
            await asyncio.wait_for(connection.connect(), CONNECT_TIMEOUT_SECONDS)
            channel = await connection.channel(
                publisher_confirms=True,
                frame_buffer_size=_DeepBufferConnection.FRAME_BUFFER_SIZE,
                on_return_raises=True,
            )
            await channel.exchange_declare(
                self._exchange_name,
                exchange_type="topic",
                durable=True,
                arguments=exchange_arguments(self._exchange_name),
            )
            self._channel = channel
        except BaseException:
            BROKER_CONNECTED.labels(role=self._role).set(0)
            await self._close_quietly()
            raise
        BROKER_CONNECTED.labels(role=self._role).set(1)
        connection.closing.add_done_callback(self._on_close)
        return channel

    def _on_close(self, *_args: object) -> None:
        BROKER_CONNECTED.labels(role=self._role).set(0)

    async def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: dict[str, object] | None = None,
        timeout: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        try:
            channel = await self.ensure_connected()
        except PublishFailed:
            raise
        except Exception as exc:
            raise PublishFailed(f"no broker connection: {exc!r}", transport=True) from exc
        message = build_message(body, message_id=message_id, headers=headers)
        try:
            # wait=False: the frames join the connection's queue without waiting for the
            # socket to drain; the broker's confirm (or return, or nack) is still awaited.
            await channel.basic_publish(
                message.body,
                exchange=self._exchange_name,
                routing_key=routing_key,
                properties=message.properties,
                mandatory=True,
                timeout=timeout,
                wait=False,
            )
        except aiormq.exceptions.DeliveryError as exc:  # returned (unroutable) or nacked
            reply = getattr(exc.frame, "reply_text", None)
            raise PublishFailed(
                f"broker refused {routing_key}: {reply or exc!r}", transport=False
            ) from exc
        except Exception as exc:  # lost connection, timeout
            raise PublishFailed(
                f"publish of {routing_key} not confirmed: {exc!r}", transport=True
            ) from exc

    async def queue_depth(self, queue: str) -> int | None:
        """Messages ready in ``queue`` (a passive declare on a channel of its own, so a
        missing queue closes only that one); None when unknown."""
        if not self.is_connected or self._connection is None:
            return None
        try:
            channel = await self._connection.channel()
            try:
                declared = await channel.queue_declare(queue, passive=True)
            finally:
                if not channel.is_closed:
                    await channel.close()
        except Exception:
            log.debug("could not read the depth of %s", queue, exc_info=True)
            return None
        return int(declared.message_count or 0)

    async def _close_quietly(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_SECONDS)
            except Exception:  # already broken; nothing to save
                log.debug("closing a broken broker connection failed", exc_info=True)

    async def close(self) -> None:
        async with self._lock:
            await self._close_quietly()
        BROKER_CONNECTED.labels(role=self._role).set(0)
