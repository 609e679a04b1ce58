"""Service-desk records for tests: customers straight into the replica (``seed_customer``),
tickets through the HTTP API (``open_ticket``) so they carry what the service adds (codes,
clocks, log, versions, outbox events), and the events a test expects read back from the
outbox (``staged``). Each test names only the fields it is about."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from crm_platform.events.outbox import OutboxMessage
from crm_platform.testing import bearer
from crm_service_desk.db.models import CustomerReplica

from .conftest import INTERNAL_TOKEN_SECRET

_serial = itertools.count(1)

DESCRIPTION = "客户反映设备昨天下午开始无法开机, 影响生产线运行"


def as_role(role: str, subject: str | None = None) -> dict[str, str]:
    return bearer(INTERNAL_TOKEN_SECRET, role, subject=subject or f"u-{role}")


SUPERVISOR = as_role("service_supervisor", "u-sup")
AGENT = as_role("service_agent", "u-agent")
ADMIN = as_role("admin", "u-admin")
VIEWER = as_role("viewer", "u-viewer")
MANAGER = as_role("sales_manager", "u-manager")
# What the gateway forwards for a public route (a survey link): a valid token with no roles.
PUBLIC = bearer(INTERNAL_TOKEN_SECRET, subject="public")


def rep(subject: str) -> dict[str, str]:
    return as_role("sales_rep", subject)


async def seed_customer(
    database_url: str, *, owner_id: str = "u-rep-1", archived: bool = False
) -> dict[str, Any]:
    """A customer as the replica knows it."""
    n = next(_serial)
    row = {
        "id": uuid.uuid4(),
        "code": f"KH2026{n:04d}",
        "name": f"杭州星辰{n}科技有限公司",
        "owner_id": owner_id,
        "grade": "B",
        "lifecycle": "signed",
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


def ticket_body(customer_id: uuid.UUID | str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": str(customer_id),
        "description": DESCRIPTION,
        "ticket_type": "tech_support",
    }
    body.update(fields)
    return body


async def open_ticket(
    client: httpx.AsyncClient,
    customer_id: uuid.UUID | str,
    *,
    as_: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    response = await client.post(
        "/v1/tickets", json=ticket_body(customer_id, **fields), headers=as_ or AGENT
    )
    assert response.status_code == 201, response.text
    return response.json()


async def act(
    client: httpx.AsyncClient,
    ticket: dict[str, Any],
    action: str,
    *,
    as_: dict[str, str] | None = None,
    expect: int = 200,
    **body: Any,
) -> dict[str, Any]:
    """POST /v1/tickets/{id}/{action} with the ticket's version."""
    if action != "log":
        body.setdefault("version", ticket["version"])
    response = await client.post(
        f"/v1/tickets/{ticket['id']}/{action}", json=body, headers=as_ or SUPERVISOR
    )
    assert response.status_code == expect, response.text
    return response.json()


async def save_team(
    client: httpx.AsyncClient, key: str = "default", **fields: Any
) -> dict[str, Any]:
    current = await client.get("/v1/service-desk/teams", headers=SUPERVISOR)
    existing = {team["key"]: team for team in current.json()}
    body = {"name": fields.pop("name", f"Team {key}")}
    if key in existing:
        body["version"] = existing[key]["version"]
        body["name"] = existing[key]["name"]
    body.update(fields)
    response = await client.put(f"/v1/service-desk/teams/{key}", json=body, headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    return response.json()


async def save_agent(
    client: httpx.AsyncClient, user_id: str, types: list[str], team_key: str = "default"
) -> dict[str, Any]:
    response = await client.put(
        f"/v1/service-desk/agents/{user_id}",
        json={"team_key": team_key, "display_name": user_id, "ticket_types": types},
        headers=SUPERVISOR,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def staged(database_url: str, routing_key: str) -> list[dict[str, Any]]:
    """The ``data`` of every ``routing_key`` event in the outbox, oldest first."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(OutboxMessage.body)
                .where(OutboxMessage.routing_key == routing_key)
                .order_by(OutboxMessage.created_at)
            )
            return [json.loads(body)["data"] for (body,) in rows]
    finally:
        await engine.dispose()
