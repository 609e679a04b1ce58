"""Valid engagement records for tests.

Customers reach this service only as replica rows (from the customers' events), so
``seed_customer`` writes one straight into ``customer_replica``; opportunities are made
through the HTTP API (``create_opportunity``), so they carry what the service adds (code,
version, history, outbox events). Each test names only the fields it is about.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from crm_engagement.db.models import CustomerReplica
from crm_platform.testing import bearer

from .conftest import INTERNAL_TOKEN_SECRET

_serial = itertools.count(1)


def as_role(role: str, subject: str | None = None) -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject or f"u-{role}", ttl_seconds=600)


ADMIN = as_role("admin", "u-admin")
MANAGER = as_role("sales_manager", "u-manager")


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
