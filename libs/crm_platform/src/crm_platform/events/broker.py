"""Broker connections that heal themselves.

We use plain (non-robust) aio-pika connections and rebuild channels, topology and consumers
ourselves after any close: aio-pika's robust connection has known gaps restoring consumers,
and an explicit rebuild is easy to reason about and to test.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange

from crm_platform.events.envelope import CONTENT_TYPE
from crm_platform.metrics import BROKER_CONNECTED

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 3.0  # a half-dead connection must not hold up shutdown


class PublishFailed(Exception):
    """The broker did not confirm a message (nack, return, timeout or lost connection)."""


@dataclass(frozen=True)
class QueueNames:
    """The queues one consuming service owns (DESIGN.md: ``<service>.events`` and friends)."""

    service: str

    @property
    def main(self) -> str:
        return f"{self.service}.events"

    @property
    def parked(self) -> str:
        return f"{self.service}.events.parked"

    def retry(self, delay_ms: int) -> str:
        return f"{self.service}.events.retry.{delay_ms}ms"


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


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
    """Publishes with confirms, persistent and mandatory; unroutable messages are failures.

    It speaks aiormq (aio-pika's own protocol layer) directly: aio-pika does not let a
    channel's frame buffer be sized (its default of 10 had the broker's confirms, too, taken
    one per event-loop turn), nor publish without waiting for each socket drain.
    """

    def __init__(self, amqp_url: str, exchange_name: str, *, role: str = "publisher") -> None:
        self._url = amqp_url
        self._exchange_name = exchange_name
        self._role = role
        self._lock = asyncio.Lock()
        self._connection: aiormq.Connection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None

    @property
    def is_connected(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def ensure_connected(self) -> aiormq.abc.AbstractChannel:
        if self._channel is not None and self.is_connected:
            return self._channel
        async with self._lock:
            if self._channel is not None and self.is_connected:
                return self._channel
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
                    self._exchange_name, exchange_type="topic", durable=True
                )
                self._channel = channel
            except Exception:
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
    ) -> None:
        try:
            channel = await self.ensure_connected()
            message = build_message(body, message_id=message_id, headers=headers)
            # wait=False: the frames join the connection's queue without waiting for the
            # socket to drain; the broker's confirm (or return, or nack) is still awaited.
            await channel.basic_publish(
                message.body,
                exchange=self._exchange_name,
                routing_key=routing_key,
                properties=message.properties,
                mandatory=True,
                timeout=PUBLISH_TIMEOUT_SECONDS,
                wait=False,
            )
        except aio_pika.exceptions.DeliveryError as exc:
            reply = getattr(exc.message, "reply_text", None) if exc.message else None
            raise PublishFailed(f"broker refused {routing_key}: {reply or exc}") from exc
        except Exception as exc:  # lost connection, timeout, nack
            raise PublishFailed(f"publish of {routing_key} not confirmed: {exc!r}") from exc

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
