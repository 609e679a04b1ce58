"""The service-desk app in-process on a fresh, migrated PostgreSQL database, consuming from the
run's vhost through an exchange of its own, so no other test's events reach its queue."""

from collections.abc import AsyncIterator

import httpx
import pytest

from crm_platform.testing import isolated_consumer_settings, running_app
from crm_service_desk.__main__ import MIGRATIONS_DIR
from crm_service_desk.main import create_app
from crm_service_desk.settings import Settings

# Not the development default: a token signed with that one must be refused.
INTERNAL_TOKEN_SECRET = "service-desk-tests-internal-token-secret-0123456789"


@pytest.fixture
async def settings(database_factory, amqp_url: str) -> Settings:
    url = await database_factory("service-desk", migrations=MIGRATIONS_DIR)
    return Settings(
        **isolated_consumer_settings(
            "service-desk",
            database_url=url,
            amqp_url=amqp_url,
            internal_token_secret=INTERNAL_TOKEN_SECRET,
        )
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The running app, HTTP API and consumer (its queues deleted afterwards)."""
    async with running_app(create_app(settings), "http://service-desk") as client:
        yield client
