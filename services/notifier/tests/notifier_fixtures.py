"""Fixtures of the notification tests: the app on a fake clock (dispatcher off: tests run its
rounds themselves), a session factory on the same database, the bound handlers, and events
built as their producers build them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.domain.dispatcher import DeliveryDispatcher
from crm_notifier.events.handlers import build_handlers
from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent
from crm_platform.testing import FakeClock, bearer, running_app

from .conftest import INTERNAL_TOKEN_SECRET

# 09:00 in Shanghai on Monday 1 June 2026
START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def as_user(subject: str, *roles: str) -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, *(roles or ("sales_rep",)), subject=subject)


ADMIN = as_user("u-admin", "admin")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def quiet_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"dispatcher_enabled": False})


@pytest.fixture
async def api(quiet_settings: Settings, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(quiet_settings, clock=clock), "http://notifier") as c:
        yield c


@pytest.fixture
async def sessions(quiet_settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(quiet_settings.database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def handlers(quiet_settings: Settings, clock: FakeClock) -> dict[str, Any]:
    return build_handlers(quiet_settings, clock)


@pytest.fixture
def dispatcher(sessions, quiet_settings: Settings, clock: FakeClock) -> DeliveryDispatcher:
    return DeliveryDispatcher(sessions, quiet_settings, clock)


def event(routing_key: str, data: dict[str, Any], *, service: str = "engagement") -> CloudEvent:
    return CloudEvent.new(
        service=service, routing_key=routing_key, subject=data.get("id"), data=data, actor="t"
    )


async def apply(sessions, handlers: dict[str, Any], *events: CloudEvent) -> None:
    """Each event as the consumer applies it: its handler in one transaction."""
    for e in events:
        async with sessions() as session, session.begin():
            handler = handlers.get(e.routing_key) or handlers["#"]
            await handler(session, e)


def user_event(
    user_id: str, roles: list[str], *, email: str | None = None, mobile: str | None = None
) -> CloudEvent:
    data = {
        "id": user_id,
        "username": user_id,
        "display_name": f"用户{user_id}",
        "email": email,
        "mobile": mobile,
        "roles": roles,
        "active": True,
        "version": 1,
    }
    return event("user.created", data, service="gateway")


def contact_event(
    customer_id: uuid.UUID,
    *,
    email: str | None = "liu@example.com",
    mobile: str | None = None,
    opt_out: bool = False,
    primary: bool = True,
) -> CloudEvent:
    data = {
        "id": str(uuid.uuid4()),
        "customer_id": str(customer_id),
        "change": "created",
        "name": "刘经理",
        "position": None,
        "mobile": mobile,
        "email": email,
        "wechat": None,
        "is_primary": primary,
        "marketing_opt_out": {"email": opt_out, "sms": opt_out, "wechat": opt_out},
        "archived": False,
        "version": 1,
    }
    return event("contact.changed", data, service="customers")


def reminder_event(recipient_id: str, title: str = "回访杭州星辰科技") -> CloudEvent:
    data = {
        "id": str(uuid.uuid4()),
        "kind": "next_follow_up",
        "recipient_id": recipient_id,
        "customer_id": None,
        "subject_id": None,
        "title": title,
        "due_on": "2026-06-01",
        "due_at": START.isoformat(),
        "fired_at": START.isoformat(),
        "late": False,
    }
    return event("reminder.due", data)


def ticket(customer_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "code": "FW2026001",
        "customer_id": str(customer_id),
        "customer_name": "杭州星辰科技有限公司",
        "contact_id": None,
        "title": "设备无法开机",
        "ticket_type": "tech_support",
        "priority": "high",
        **fields,
    }


def sla_event(kind: str, *, supervisor_id: str | None, assignee_id: str | None) -> CloudEvent:
    data = {
        "ticket_id": str(uuid.uuid4()),
        "code": "FW2026002",
        "customer_id": str(uuid.uuid4()),
        "customer_name": "杭州星辰科技有限公司",
        "title": "投诉: 发货延迟",
        "ticket_type": "complaint",
        "priority": "high",
        "kind": "resolve",
        "round": 1,
        "target_minutes": 1440,
        "started_at": START.isoformat(),
        "due_at": START.isoformat(),
        "detected_at": START.isoformat(),
        "assignee_id": assignee_id,
        "supervisor_id": supervisor_id,
        "team_key": "default",
    }
    return event(f"ticket.{kind}", data, service="service-desk")
