"""Engagement records for tests: customers arrive the way they do in production (a
customers event through the service's handlers), follow-ups through the HTTP API.

``customer_event`` builds a customers event; ``apply`` runs events through the handlers in
one consumer-like transaction; ``log_followup`` posts a valid follow-up, naming only what a
test is about."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events import CloudEvent
from crm_platform.testing import bearer

from .conftest import INTERNAL_TOKEN_SECRET

_serial = itertools.count(1)

SUMMARY = "电话沟通了采购计划, 客户希望下周看到报价方案"  # long enough for any default minimum


def headers(role: str = "sales_rep", subject: str = "u-rep") -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject, ttl_seconds=600)


MANAGER = headers("sales_manager", "u-manager")
ADMIN = headers("admin", "u-admin")
VIEWER = headers("viewer", "u-viewer")


def customer_state(
    *,
    customer_id: uuid.UUID | None = None,
    owner_id: str = "u-rep",
    grade: str | None = "B",
    lifecycle: str = "intent",
    archived: bool = False,
    version: int = 1,
) -> dict[str, Any]:
    n = next(_serial)
    return {
        "id": str(customer_id or uuid.uuid4()),
        "code": f"CRM2026{n:04d}",
        "kind": "enterprise",
        "name": f"杭州星云科技有限公司{n}",
        "industry": "it",
        "lifecycle": lifecycle,
        "activity_status": "active",
        "grade": grade,
        "owner_id": owner_id,
        "tags": [],
        "review_status": "approved",
        "archived": archived,
        "version": version,
    }


def event(
    routing_key: str,
    data: dict[str, Any],
    *,
    time: datetime | None = None,
    service: str = "customers",
) -> CloudEvent:
    built = CloudEvent.new(
        service=service, routing_key=routing_key, subject=data.get("id"), data=data, actor="t"
    )
    return built.model_copy(update={"time": time or datetime.now(UTC)})


async def apply(
    sessionmaker: async_sessionmaker[AsyncSession], handlers: dict[str, Any], *events: CloudEvent
) -> None:
    """One consumer batch: every handler in one transaction."""
    async with sessionmaker() as session, session.begin():
        for e in events:
            await handlers[e.type.removeprefix("crm.")](session, e)


def followup_body(customer: uuid.UUID | str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": str(customer),
        "method": "phone",
        "summary": SUMMARY,
        "feedback": "neutral",
    }
    body.update(overrides)
    return body


async def log_followup(
    client: httpx.AsyncClient,
    customer_id: uuid.UUID | str,
    *,
    as_: dict[str, str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/follow-ups", json=followup_body(customer_id, **overrides), headers=as_ or headers()
    )
    assert response.status_code == 201, response.text
    return response.json()


class FakeClock:
    """A clock tests move by hand (never by sleeping)."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment
