"""The notifier app in-process on a fresh, migrated PostgreSQL database, consuming from the
run's vhost through an exchange of its own, so no other test's events reach its queue."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm_notifier.__main__ import MIGRATIONS_DIR
from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.events import CloudEvent
from crm_platform.events.broker import QueueNames, build_message, declare_exchange
from crm_platform.identity import mint_internal_token
from crm_platform.migrations import upgrade
from crm_platform.testing import fetch

# Not the development default: a token signed with that one must be refused.
INTERNAL_TOKEN_SECRET = "notifier-tests-internal-token-secret-0123456789"

Publish = Callable[..., Awaitable[None]]


@pytest.fixture
async def settings(database_factory, amqp_url: str) -> Settings:
    url = await database_factory("notifier")
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    return Settings(
        database_url=url,
        amqp_url=amqp_url,
        events_exchange=f"crm.events.notifier-test.{uuid.uuid4().hex[:8]}",
        internal_token_secret=INTERNAL_TOKEN_SECRET,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The running app, HTTP API and consumer. Its queues are deleted afterwards, so what a
    test leaves there (a parked event) reaches neither a later test nor the end-to-end run."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.consumer.wait_ready(), 10)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
            yield client
    await _delete_queues_and_exchange(settings)


@pytest.fixture
async def publish(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[Publish]:
    """``await publish(event)``: sent as the customers' relay sends it, confirmed and mandatory
    (an event no queue is bound to raises). ``body=`` sends other bytes under its id."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_exchange(channel, settings.events_exchange)

        async def send(event: CloudEvent, *, body: bytes | None = None) -> None:
            message = build_message(body or event.to_bytes(), message_id=str(event.id))
            await exchange.publish(message, routing_key=event.routing_key)

        yield send


async def _delete_queues_and_exchange(settings: Settings) -> None:
    names = QueueNames(settings.service_name)
    retry_queues = [names.retry(delay) for delay in settings.consumer_retry_delays_ms]
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for queue in (names.main, names.parked, *retry_queues):
            await channel.queue_delete(queue)
        await channel.exchange_delete(settings.events_exchange)


def bearer(*roles: str, secret: str = INTERNAL_TOKEN_SECRET, ttl_seconds: int = 60) -> dict:
    """Headers carrying an internal token as the gateway mints them."""
    token = mint_internal_token(secret, subject="u-test", roles=roles, ttl_seconds=ttl_seconds)
    return {"authorization": f"Bearer {token}"}


async def inbox_rows(settings: Settings) -> list[dict[str, Any]]:
    rows = await fetch(
        settings.database_url, "SELECT id, type, source FROM inbox_message ORDER BY received_at"
    )
    return [dict(row) for row in rows]


async def events_consumed(client: httpx.AsyncClient, event_type: str, outcome: str) -> float:
    """The consumer's count of ``event_type`` events with ``outcome``, read from /metrics
    (the registry is the test process's: compare before and after, never absolute values)."""
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "crm_events_consumed_total" and sample.labels == {
                "type": event_type,
                "outcome": outcome,
            }:
                return sample.value
    return 0.0
