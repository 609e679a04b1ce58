"""The broker topology, declared by one idempotent step before anything publishes or consumes.

``declare_topology`` runs with ``crm-<service> migrate`` (a deploy step), again when a
service starts (before it reports ready) and whenever its consumer reconnects. It declares:

- ``crm.events``, the topic exchange every event goes to, with an *alternate exchange*
  ``crm.events.unrouted`` (fanout) and behind it the bounded queue ``crm.events.unrouted``.
  An event no queue is bound to yet (a type nobody subscribes to, or a partner who will
  subscribe later) is routed there, so the publisher's confirm arrives and the outbox row
  counts as published. ``mandatory`` keeps its protection where it means something: if even
  the alternate exchange cannot route (its queue deleted), the broker returns the message and
  the row stays pending.
- For a consuming service, ``<service>.events`` (quorum) bound to the types it handles, with a
  delivery limit and dead-lettering to ``<service>.events.parked``: a message redelivered too
  often (crash loops, requeues) is parked, never dropped, whatever the broker version's
  default (RabbitMQ 4.0 drops a quorum queue's message after 20 deliveries unless told where
  to dead-letter it). Dead-lettering is at-least-once (RabbitMQ ≥ 3.10), which needs
  ``x-overflow: reject-publish``.
- Its retry tiers ``<service>.events.retry.<delay>ms`` (queue TTL, dead-lettered back to the
  main queue through the default exchange) and its parking queue.

Queue and exchange arguments cannot change on a live object: a declaration with other
arguments fails with PRECONDITION_FAILED. An exchange declared before the alternate exchange
existed is deleted and declared again (it holds no messages; each service's step binds its
queue again, and meanwhile an event finds the alternate exchange's queue). A main queue with
other arguments is re-created only when it is empty; otherwise the step stops and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
UNROUTED_MAX_LENGTH = 100_000
# RabbitMQ 4.0's default for quorum queues; ours dead-letters instead of dropping.
DELIVERY_LIMIT = 20
PRECONDITION_FAILED = 406


class TopologyMismatch(RuntimeError):
    """A queue exists with other arguments and holds messages: an operator must drain it."""


def unrouted_name(exchange: str) -> str:
    return f"{exchange}.unrouted"


def exchange_arguments(exchange: str) -> dict[str, object]:
    """The arguments ``crm.events`` is declared with, by the topology step and the publisher."""
    return {"alternate-exchange": unrouted_name(exchange)}


@dataclass(frozen=True)
class QueueNames:
    """The queues one consuming service owns (``<service>.events`` and friends)."""

    service: str

    @property
    def main(self) -> str:
        return f"{self.service}.events"

    @property
    def parked(self) -> str:
        return f"{self.service}.events.parked"

    def retry(self, delay_ms: int) -> str:
        return f"{self.service}.events.retry.{delay_ms}ms"


@dataclass(frozen=True)
class ConsumerTopology:
    """What one consuming service declares: its queues and the types bound to them."""

    service: str
    routing_keys: tuple[str, ...]
    retry_delays_ms: tuple[int, ...]
    delivery_limit: int = DELIVERY_LIMIT
    names: QueueNames = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", QueueNames(self.service))

    @classmethod
    def of(
        cls,
        service: str,
        routing_keys: Iterable[str],
        retry_delays_ms: Iterable[int],
        delivery_limit: int = DELIVERY_LIMIT,
    ) -> ConsumerTopology:
        return cls(
            service,
            tuple(sorted(set(routing_keys))),
            tuple(sorted(set(retry_delays_ms))),
            delivery_limit,
        )

    def main_queue_arguments(self) -> dict[str, object]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.names.parked,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def retry_queue_arguments(self, delay_ms: int) -> dict[str, object]:
        return {
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.names.main,
        }


async def declare_topology(
    amqp_url: str, exchange: str, consumer: ConsumerTopology | None = None
) -> None:
    """Declare the events exchange (and, given ``consumer``, a service's queues); idempotent."""
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT_SECONDS)
    async with connection:
        await _declare_exchanges(connection, exchange)
        if consumer is not None:
            await _declare_consumer_queues(connection, exchange, consumer)


async def _declare_exchanges(connection: AbstractConnection, exchange: str) -> None:
    unrouted = unrouted_name(exchange)
    channel = await connection.channel()
    alternate = await channel.declare_exchange(unrouted, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue(
        unrouted,
        durable=True,
        arguments={
            "x-max-length": UNROUTED_MAX_LENGTH,
            "x-overflow": "drop-head",
            "x-queue-mode": "lazy",
        },
    )
    await queue.bind(alternate)
    try:
        await channel.declare_exchange(
            exchange,
            aio_pika.ExchangeType.TOPIC,
            durable=True,
            arguments=exchange_arguments(exchange),
        )
    except aiormq.exceptions.ChannelPreconditionFailed:
        log.warning("exchange %s predates its alternate exchange; declaring it again", exchange)
        channel = await connection.channel()
        await channel.exchange_delete(exchange)
        await channel.declare_exchange(
            exchange,
            aio_pika.ExchangeType.TOPIC,
            durable=True,
            arguments=exchange_arguments(exchange),
        )
    await channel.close()


async def _declare_consumer_queues(
    connection: AbstractConnection, exchange_name: str, topology: ConsumerTopology
) -> None:
    names = topology.names
    channel = await connection.channel()
    await channel.declare_queue(names.parked, durable=True)
    for delay in topology.retry_delays_ms:
        await channel.declare_queue(
            names.retry(delay), durable=True, arguments=topology.retry_queue_arguments(delay)
        )
    channel = await _declare_main_queue(connection, channel, topology)
    exchange = await channel.get_exchange(exchange_name, ensure=False)
    queue = await channel.get_queue(names.main, ensure=False)
    for routing_key in topology.routing_keys:
        await queue.bind(exchange, routing_key=routing_key)
    await channel.close()


async def _declare_main_queue(
    connection: AbstractConnection, channel: AbstractChannel, topology: ConsumerTopology
) -> AbstractChannel:
    """Declare the main queue; re-create it when it has other arguments and is empty."""
    name = topology.names.main
    arguments = topology.main_queue_arguments()
    try:
        await channel.declare_queue(name, durable=True, arguments=arguments)
        return channel
    except aiormq.exceptions.ChannelPreconditionFailed as exc:
        mismatch = exc
    channel = await connection.channel()
    existing = await channel.declare_queue(name, passive=True)
    messages = existing.declaration_result.message_count
    if messages:
        raise TopologyMismatch(
            f"queue {name} exists with other arguments and holds {messages} messages "
            f"({mismatch}); stop its consumers, let it drain (or move its messages), "
            "then run the topology step again"
        )
    log.warning("re-creating empty queue %s with its delivery limit and parking", name)
    # Quorum queues refuse ``if_empty``; the count above is the check. Run the step while
    # nothing publishes to the queue (a deploy), as migrations are.
    await channel.queue_delete(name)
    await channel.declare_queue(name, durable=True, arguments=arguments)
    return channel
