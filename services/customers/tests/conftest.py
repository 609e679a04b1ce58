"""The customers app in-process on a fresh, migrated PostgreSQL database."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from crm_customers.__main__ import MIGRATIONS_DIR
from crm_customers.main import create_app
from crm_customers.settings import CustomersSettings
from crm_platform.migrations import upgrade
from crm_platform.testing import bearer


@pytest.fixture
async def settings(database_factory, amqp_url: str) -> CustomersSettings:
    url = await database_factory("customers", migrations=MIGRATIONS_DIR)
    return CustomersSettings(
        database_url=url,
        amqp_url=amqp_url,
        customer_code_prefix="ABC",
        relay_enabled=False,  # tests read the outbox itself; the platform tests cover the relay
    )


@pytest.fixture
def token_for(settings: CustomersSettings) -> Callable[..., dict[str, str]]:
    def make(subject: str = "u-admin", *roles: str) -> dict[str, str]:
        return bearer(settings.internal_token_secret, *(roles or ("admin",)), subject=subject)

    return make


@contextlib.asynccontextmanager
async def app_client(
    settings: CustomersSettings, headers: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The customers app run in-process (lifespan included) and a client sending ``headers``;
    the app rides on ``client.app`` for tests that read its database or runtime."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://customers", headers=headers
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def migrated_sqlite(directory: Path) -> str:
    """The URL of a new SQLite file in ``directory`` at the head of the migrations: the
    service runs on SQLite too, and these tests keep migrating it from nothing."""
    url = f"sqlite+aiosqlite:///{directory}/customers.db"
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    return url


@pytest.fixture
async def client(settings: CustomersSettings, token_for) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(settings, token_for()) as client:
        yield client


@pytest.fixture
async def as_user(client, token_for):
    """``as_user("rep-1", "sales_rep")`` → a client speaking for that person."""
    made = []

    def make(subject: str, *roles: str) -> httpx.AsyncClient:
        other = httpx.AsyncClient(
            transport=client._transport,
            base_url="http://customers",
            headers=token_for(subject, *roles),
        )
        made.append(other)
        return other

    yield make
    for other in made:
        await other.aclose()


async def outbox_events(client, routing_key: str | None = None) -> list[dict]:
    """Events staged by the app, oldest first (the relay is off in these tests)."""
    import json

    from sqlmodel import col, select

    from crm_platform.events.outbox import OutboxMessage

    runtime = client.app.state.runtime
    async with runtime.sessionmaker() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.created_at))
        if routing_key:
            query = query.where(OutboxMessage.routing_key == routing_key)
        rows = (await session.exec(query)).all()
    return [json.loads(row.body) for row in rows]
