"""Cross-service fixtures: the five services as real processes (tests/system.py)."""

from collections.abc import AsyncIterator

import pytest

from .system import System, running_system


@pytest.fixture(scope="session")
async def system(database_factory, amqp_url: str) -> AsyncIterator[System]:
    async with running_system(database_factory, amqp_url) as started:
        yield started
