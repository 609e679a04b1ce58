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
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

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


class EventPublisher:
    """Publishes with confirms, persistent and mandatory; unroutable messages are failures."""

    def __init__(self, amqp_url: str, exchange_name: str, *, role: str = "publisher") -> None:
        self._url = amqp_url
        self._exchange_name = exchange_name
        self._role = role
        self._lock = asyncio.Lock()
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    @property
    def is_connected(self) -> bool:
        return self._channel is not None and not self._channel.is_closed

    async def ensure_connected(self) -> AbstractExchange:
        if self._exchange is not None and self.is_connected:
            return self._exchange
        async with self._lock:
            if self._exchange is not None and self.is_connected:
                return self._exchange
            await self._close_quietly()
            try:
                self._connection = await aio_pika.connect(
                    self._url, timeout=CONNECT_TIMEOUT_SECONDS
                )
                self._channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                self._exchange = await declare_exchange(self._channel, self._exchange_name)
            except Exception:
                BROKER_CONNECTED.labels(role=self._role).set(0)
                await self._close_quietly()
                raise
            BROKER_CONNECTED.labels(role=self._role).set(1)
            self._connection.close_callbacks.add(self._on_close)
            return self._exchange

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
            exchange = await self.ensure_connected()
            message = build_message(body, message_id=message_id, headers=headers)
            # aiormq directly, for ``wait=False``: aio-pika's publish holds the channel lock
            # until the socket write drained, one event-loop turn per message, so a relay
            # batch sharing a busy loop with the API published a few hundred messages a
            # second. Without it a batch's frames go out together; the broker's confirm (or
            # return, or nack) is still awaited for each message.
            channel = await exchange.channel.get_underlay_channel()
            await channel.basic_publish(
                message.body,
                exchange=exchange.name,
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
        connection, self._connection, self._channel, self._exchange = (
            self._connection,
            None,
            None,
            None,
        )
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), CLOSE_TIMEOUT_SECONDS)
            except Exception:  # already broken; nothing to save
                log.debug("closing a broken broker connection failed", exc_info=True)

    async def close(self) -> None:
        async with self._lock:
            await self._close_quietly()
        BROKER_CONNECTED.labels(role=self._role).set(0)
