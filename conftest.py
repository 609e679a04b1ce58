"""Fixtures for every suite: one RabbitMQ vhost and fresh PostgreSQL databases per test run,
removed afterwards, so runs never collide (see crm_platform.testing)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from itertools import count
from pathlib import Path

import pytest

from crm_platform.migrations import upgrade
from crm_platform.testing import create_database, create_vhost, delete_vhost, drop_database, run_id

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
    given ``migrations=`` (a service's migrations folder), migrated to head."""
    created: list[str] = []
    serial = count(1)

    async def make(label: str, *, migrations: Path | None = None) -> str:
        name = f"crm_test_{run_tag}_{label.replace('-', '_')}_{next(serial)}"
        url = await create_database(name)
        created.append(name)
        if migrations is not None:
            await asyncio.to_thread(upgrade, migrations, url)
        return url

    yield make
    for name in created:
        await drop_database(name)
