"""Create, get and list customers; the event goes through the outbox."""

import asyncio
import uuid
from datetime import UTC, datetime

from sqlmodel import select

from crm_platform.events.outbox import OutboxMessage

from .factories import create_customer

NEW = {
    "kind": "enterprise",
    "name": "上海星辰科技有限公司",
    "industry": "it",
    "lifecycle": "prospect",
}


async def test_create_get_and_list(client) -> None:
    created = await client.post("/v1/customers", json=NEW)
    assert created.status_code == 201, created.text
    customer = created.json()
    year = datetime.now(UTC).year
    assert customer["code"] == f"ABC{year}001"
    assert customer["owner_id"] == "u-admin"
    assert customer["version"] == 1

    fetched = await client.get(f"/v1/customers/{customer['id']}")
    assert fetched.json() == customer

    listed = (await client.get("/v1/customers", params={"page_size": 10})).json()
    assert listed["total"] == 1
    assert listed["items"] == [customer]


async def test_creation_stages_customer_created_in_the_outbox(client) -> None:
    customer = await create_customer(client)
    runtime = client.app.state.runtime
    async with runtime.sessionmaker() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    assert [row.routing_key for row in rows] == ["customer.created"]
    assert customer["id"] in rows[0].body


async def test_concurrent_creates_never_share_a_code(client) -> None:
    responses = await asyncio.gather(
        *(client.post("/v1/customers", json={**NEW, "allow_duplicate": True}) for _ in range(60))
    )
    assert all(r.status_code == 201 for r in responses)
    codes = [r.json()["code"] for r in responses]
    assert len(set(codes)) == 60


async def test_unknown_customer_is_a_404_problem(client) -> None:
    response = await client.get(f"/v1/customers/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_bad_input_names_the_field(client) -> None:
    response = await client.post("/v1/customers", json={**NEW, "lifecycle": "friend", "name": ""})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.lifecycle", "body.name"}


async def test_no_token_no_customers(client) -> None:
    response = await client.get("/v1/customers", headers={"authorization": ""})
    assert response.status_code == 401
