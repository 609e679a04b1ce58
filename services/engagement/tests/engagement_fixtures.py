"""Fixtures of the engagement rule tests: the app on a fake clock (scheduler off: tests run
its steps themselves), a session factory on the same database, the bound handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.events.handlers import build_handlers
from crm_engagement.main import create_app
from crm_engagement.settings import Settings
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.testing import FakeClock, running_app

# 09:30 in Shanghai on 1 June 2026
START = datetime(2026, 6, 1, 1, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"scheduler_enabled": False})


@pytest.fixture
async def api(quiet_settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(quiet_settings, clock=clock), "http://engagement") as c:
        yield c


@pytest.fixture
async def sessions(quiet_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(quiet_settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def handlers(quiet_settings: Settings, clock: FakeClock) -> dict[str, Any]:
    return build_handlers(quiet_settings, clock)
