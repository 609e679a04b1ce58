"""The notifier app in-process on a fresh, migrated PostgreSQL database, consuming from the
run's vhost through an exchange of its own, so no other test's events reach its queue."""

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest

from crm_notifier.__main__ import MIGRATIONS_DIR
from crm_notifier.domain import partner_bus
from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.errors import Unavailable
from crm_platform.testing import (
    Publish,
    event_publisher,
    fetch,
    isolated_consumer_settings,
    running_app,
)

# Not the development default: a token signed with that one must be refused.
INTERNAL_TOKEN_SECRET = "notifier-tests-internal-token-secret-0123456789"


def vhost_of(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).path.removeprefix("/")) or "/"


@pytest.fixture
async def settings(database_factory, amqp_url: str) -> AsyncIterator[Settings]:
    """Partners' queues and broker users are provisioned in the run's vhost; the broker users
    (cluster-wide, unlike the vhost's queues) a test leaves are deleted after it."""
    url = await database_factory("notifier", migrations=MIGRATIONS_DIR)
    settings = Settings(
        **isolated_consumer_settings(
            "notifier",
            database_url=url,
            amqp_url=amqp_url,
            internal_token_secret=INTERNAL_TOKEN_SECRET,
        ),
        rabbitmq_vhost=vhost_of(amqp_url),
    )
    yield settings
    await delete_partner_users(settings)


async def delete_partner_users(settings: Settings) -> None:
    """Every ``partner-…`` broker user with permissions on the settings' vhost. Without the
    management API no test could have made one."""
    async with partner_bus.open_broker(settings) as admin:
        try:
            usernames = await admin.users_with_permissions()
        except Unavailable:
            return
        for username in usernames:
            if username.startswith(partner_bus.username_of("")):
                await admin.delete_user(username)


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
