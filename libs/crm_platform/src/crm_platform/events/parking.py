"""Listing and replaying parked messages.

Listing takes messages without acking and closes the channel, which puts them back; replay
republishes chosen messages to the service's main queue with a fresh attempt count (confirmed)
before acking them out of the parking queue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from crm_platform.events.broker import CONNECT_TIMEOUT_SECONDS, QueueNames, build_message
from crm_platform.events.consumer import ATTEMPT_HEADER, ERROR_HEADER, PARKED_AT_HEADER


@dataclass(frozen=True)
class ParkedMessage:
    message_id: str
    event_type: str | None
    attempts: int
    error: str | None
    parked_at: str | None
    body: dict[str, Any] | str


def _describe(message: AbstractIncomingMessage) -> ParkedMessage:
    import json

    headers = message.headers or {}
    try:
        body: dict[str, Any] | str = json.loads(message.body)
    except ValueError:
        body = message.body.decode(errors="replace")
    event_type = body.get("type") if isinstance(body, dict) else None
    return ParkedMessage(
        message_id=message.message_id or "",
        event_type=event_type,
        attempts=int(headers.get(ATTEMPT_HEADER, 0) or 0),
        error=str(headers.get(ERROR_HEADER)) if headers.get(ERROR_HEADER) else None,
        parked_at=str(headers.get(PARKED_AT_HEADER)) if headers.get(PARKED_AT_HEADER) else None,
        body=body,
    )


async def _take_all(
    channel: aio_pika.abc.AbstractChannel, queue_name: str, limit: int
) -> list[AbstractIncomingMessage]:
    queue = await channel.declare_queue(queue_name, durable=True, passive=True)
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


async def replay_parked(
    amqp_url: str, service: str, *, message_ids: set[str] | None = None, limit: int = 1000
) -> list[str]:
    """Send parked messages (all, or those with the given ids) back for handling."""
    names = QueueNames(service)
    replayed: list[str] = []
    connection = await aio_pika.connect(amqp_url, timeout=CONNECT_TIMEOUT_SECONDS)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for message in await _take_all(channel, names.parked, limit):
            if message_ids is not None and message.message_id not in message_ids:
                continue
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if k not in (ATTEMPT_HEADER, PARKED_AT_HEADER)
            }
            headers["x-crm-replayed"] = True
            await channel.default_exchange.publish(
                build_message(
                    message.body,
                    message_id=message.message_id or str(uuid.uuid4()),
                    headers=headers,
                ),
                routing_key=names.main,
                timeout=10,
            )
            await message.ack()
            replayed.append(message.message_id or "")
    return replayed
