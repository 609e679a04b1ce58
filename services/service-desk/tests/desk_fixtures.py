"""Fixtures of the ticket tests: the app on a fake clock (SLA checker off: tests run its
rounds themselves), a session factory on the same database, and checkers to run by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.testing import FakeClock, running_app
from crm_service_desk.domain.sla_checker import SlaChecker
from crm_service_desk.main import create_app
from crm_service_desk.settings import Settings

# 10:00 in Shanghai on Monday 1 June 2026
START = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sla_checker_enabled": False})


@pytest.fixture
async def api(quiet_settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(quiet_settings, clock=clock), "http://service-desk") as c:
        yield c


@pytest.fixture
async def sessions(quiet_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(quiet_settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def checker(
    sessions: async_sessionmaker[AsyncSession], quiet_settings: Settings, clock: FakeClock
) -> SlaChecker:
    return SlaChecker(sessions, quiet_settings, clock)
