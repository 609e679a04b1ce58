"""The notifier app in-process on a fresh, migrated PostgreSQL database, consuming from the
run's vhost through an exchange of its own, so no other test's events reach its queue."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crm_notifier.__main__ import MIGRATIONS_DIR
from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.testing import (
    Publish,
    event_publisher,
    fetch,
    isolated_consumer_settings,
    running_app,
)

# Not the development default: a token signed with that one must be refused.
INTERNAL_TOKEN_SECRET = "notifier-tests-internal-token-secret-0123456789"


@pytest.fixture
async def settings(database_factory, amqp_url: str) -> Settings:
    url = await database_factory("notifier", migrations=MIGRATIONS_DIR)
    return Settings(
        **isolated_consumer_settings(
            "notifier",
            database_url=url,
            amqp_url=amqp_url,
            internal_token_secret=INTERNAL_TOKEN_SECRET,
        )
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The running app, HTTP API and consumer (its queues deleted afterwards)."""
    async with running_app(create_app(settings), "http://notifier") as client:
        yield client


@pytest.fixture
async def publish(settings: Settings, client: httpx.AsyncClient) -> AsyncIterator[Publish]:
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        yield publish


async def inbox_rows(settings: Settings) -> list[dict[str, Any]]:
    rows = await fetch(
        settings.database_url, "SELECT id, type, source FROM inbox_message ORDER BY received_at"
    )
    return [dict(row) for row in rows]
