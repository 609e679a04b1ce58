"""Listing and replaying parked messages.

A message is parked by the consumer after its last attempt (headers ``x-crm-error``,
``x-crm-attempt``, ``x-crm-parked-at``) or by the broker when the main queue's delivery limit
dead-letters it (header ``x-death``, reason ``delivery_limit``: redelivered too often, by
crashes or requeues, without ever being settled).

Listing takes messages without acking and closes the channel, which puts them back; replay
republishes chosen messages to the service's main queue with a fresh attempt count, and acks
one out of the parking queue only when the broker confirmed the copy and did not return it
(a missing main queue returns it): a failed replay leaves the message parked.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from crm_platform.events.broker import CONNECT_TIMEOUT_SECONDS, build_message
from crm_platform.events.consumer import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    PARKED_AT_HEADER,
    attempt_of,
)
from crm_platform.events.topology import QueueNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    event_type: str | None
    attempts: int
    error: str | None
    parked_at: str | None
    body: dict[str, Any] | str


def _dead_lettered_because(headers: dict[str, Any]) -> str | None:
    """The broker's reason when it dead-lettered the message itself (delivery limit)."""
    deaths = headers.get("x-death")
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], dict):
        return None
    death = deaths[0]
    reason = death.get("reason")
    reason = reason.decode() if isinstance(reason, bytes) else reason
    return f"dead-lettered by the broker: {reason} (from {death.get('queue')})"


def _describe(message: AbstractIncomingMessage) -> ParkedMessage:
    headers = dict(message.headers or {})
    try:
        body: dict[str, Any] | str = json.loads(message.body)
    except ValueError:
        body = message.body.decode(errors="replace")
    event_type = body.get("type") if isinstance(body, dict) else None
    return ParkedMessage(
        message_id=message.message_id or "",
        event_type=event_type,
        attempts=attempt_of(message) if ATTEMPT_HEADER in headers else 0,
        error=(
            str(headers[ERROR_HEADER])
            if headers.get(ERROR_HEADER)
            else _dead_lettered_because(headers)
        ),
        parked_at=str(headers.get(PARKED_AT_HEADER)) if headers.get(PARKED_AT_HEADER) else None,
        body=body,
    )


async def _take_all(
    channel: aio_pika.abc.AbstractChannel, queue_name: str, limit: int
) -> list[AbstractIncomingMessage]:
    try:
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        # A service that consumes nothing (the gateway) has no parking queue: nothing is
        # parked there. Listing it answered 500.
        return []
    taken: list[AbstractIncomingMessage] = []
    while len(taken) < limit:
        message = await queue.get(no_ack=False, fail=False, timeout=5)
        if message is None:
            break
        taken.append(message)
    return taken


async def list_parked(amqp_url: str, service: str, *, limit: int = 100) -> list[ParkedMessage]:
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT_SECONDS)
    async with connection:
        channel = await connection.channel()
        taken = await _take_all(channel, QueueNames(service).parked, limit)
        return [_describe(m) for m in taken]
        # Closing the channel returns every unacked message to the parking queue.


@dataclass
class ReplayOutcome:
    replayed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # message id → why it stays parked


async def replay_parked(
    amqp_url: str, service: str, *, message_ids: set[str] | None = None, limit: int = 1000
) -> ReplayOutcome:
    """Send parked messages (all, or those with the given ids) back for handling."""
    names = QueueNames(service)
    outcome = ReplayOutcome()
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT_SECONDS)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        for message in await _take_all(channel, names.parked, limit):
            if message_ids is not None and message.message_id not in message_ids:
                continue
            message_id = message.message_id or str(uuid.uuid4())
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k not in (ATTEMPT_HEADER, PARKED_AT_HEADER, "x-death")
                and not k.startswith("x-first-death")
                and not k.startswith("x-last-death")
            }
            headers["x-crm-replayed"] = True
            try:
                await channel.default_exchange.publish(
                    build_message(message.body, message_id=message_id, headers=headers),
                    routing_key=names.main,
                    mandatory=True,
                    timeout=10,
                )
            except Exception as exc:
                log.warning("replay of %s failed (%r); it stays parked", message_id, exc)
                outcome.failed[message_id] = f"{type(exc).__name__}: {exc}"
                continue  # unacked: back in the parking queue when the channel closes
            await message.ack()
            outcome.replayed.append(message_id)
    return outcome
