"""Engagement records for tests: customers arrive the way they do in production (a customers
event through the service's handlers, ``customer_event``/``apply``) or, where only the replica
matters, straight into ``customer_replica`` (``seed_customer``); follow-ups and opportunities
through the HTTP API (``log_followup``, ``create_opportunity``), so they carry what the service
adds (codes, versions, history, outbox events). Each test names only the fields it is about."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db.models import CustomerReplica
from crm_platform.events import CloudEvent
from crm_platform.testing import bearer

from .conftest import INTERNAL_TOKEN_SECRET

_serial = itertools.count(1)

SUMMARY = "电话沟通了采购计划, 客户希望下周看到报价方案"  # long enough for any default minimum


def headers(role: str = "sales_rep", subject: str = "u-rep") -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject)


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


# --------------------------------------------------------------------------- opportunities


def as_role(role: str, subject: str | None = None) -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject or f"u-{role}")


def rep(subject: str) -> dict[str, str]:
    return as_role("sales_rep", subject)


async def seed_customer(
    database_url: str, *, owner_id: str = "u-rep-1", archived: bool = False, code: str | None = None
) -> dict[str, Any]:
    """A customer as the replica knows it."""
    n = next(_serial)
    row = {
        "id": uuid.uuid4(),
        "code": code or f"ABC2026{n:03d}",
        "name": f"杭州星辰{n}科技有限公司",
        "owner_id": owner_id,
        "grade": "B",
        "lifecycle": "intent",
        "archived": archived,
        "source_version": 1,
        "source_event_time": datetime.now(UTC),
        "replicated_at": datetime.now(UTC),
    }
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(CustomerReplica.__table__.insert().values(**row))
    finally:
        await engine.dispose()
    return row


def opportunity_body(customer_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": str(customer_id),
        "name": f"ERP 实施项目 {next(_serial)}",
        "expected_amount": "120000.00",
        "expected_close_on": "2027-03-31",
    }
    body.update(fields)
    return body


async def create_opportunity(
    client: httpx.AsyncClient,
    customer_id: uuid.UUID,
    *,
    headers: dict[str, str] = ADMIN,
    **fields: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/opportunities", json=opportunity_body(customer_id, **fields), headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def move(
    client: httpx.AsyncClient,
    opportunity: dict[str, Any],
    to: str,
    *,
    headers: dict[str, str] = ADMIN,
    expect: int = 200,
    **fields: Any,
) -> dict[str, Any]:
    body = {"to": to, "note": f"moved to {to}", "version": opportunity["version"], **fields}
    response = await client.post(
        f"/v1/opportunities/{opportunity['id']}/stage", json=body, headers=headers
    )
    assert response.status_code == expect, response.text
    return response.json()
