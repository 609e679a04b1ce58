"""Fixtures for every suite: one RabbitMQ vhost and fresh PostgreSQL databases per test run,
removed afterwards, so runs never collide (see crm_platform.testing)."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from crm_platform.testing import RunDatabases, create_vhost, delete_vhost, run_id

DatabaseFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def run_tag() -> str:
    return run_id()


@pytest.fixture(scope="session")
def amqp_url(run_tag: str) -> Iterator[str]:
    name = f"crm-test-{run_tag}"
    url = create_vhost(name)
    yield url
    delete_vhost(name)


@pytest.fixture(scope="session")
async def database_factory(run_tag: str) -> AsyncIterator[DatabaseFactory]:
    """``await database_factory("label")`` → the URL of a new PostgreSQL database, empty or,
    given ``migrations=`` (a service's migrations folder), at its head: a copy of a template
    migrated once per run (crm_platform.testing.RunDatabases)."""
    databases = RunDatabases(run_tag)
    yield databases.new
    await databases.drop_all()
