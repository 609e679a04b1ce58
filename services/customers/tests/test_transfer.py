"""Owner transfer (离职交接): one operation, one owner_changed per customer, reps stay in
their lane."""

import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import event, insert

from crm_customers.db.models import Customer

from .conftest import outbox_events
from .factories import create_customer


async def owner_of(client, customer: dict) -> str:
    return (await client.get(f"/v1/customers/{customer['id']}")).json()["owner_id"]


async def test_a_rep_cannot_transfer_another_reps_customer(client, as_user) -> None:
    alice, bob = as_user("alice", "sales_rep"), as_user("bob", "sales_rep")
    mine = await create_customer(alice)
    theirs = await create_customer(bob)

    response = await alice.post(
        "/v1/customers/transfer",
        json={"customer_ids": [mine["id"], theirs["id"]], "to_owner_id": "carol"},
    )
    assert response.status_code == 404  # exactly as if it did not exist
    assert theirs["id"] in response.json()["detail"]
    assert await owner_of(client, mine) == "alice"  # all or nothing
    assert await owner_of(client, theirs) == "bob"
    assert await outbox_events(client, "customer.owner_changed") == []

    everything = await alice.post(
        "/v1/customers/transfer", json={"from_owner_id": "bob", "to_owner_id": "alice"}
    )
    assert everything.status_code == 403
    assert await owner_of(client, theirs) == "bob"


async def test_a_rep_hands_over_their_own_customer(client, as_user) -> None:
    alice = as_user("alice", "sales_rep")
    mine = await create_customer(alice)
    response = await alice.post(
        "/v1/customers/transfer",
        json={"customer_ids": [mine["id"]], "to_owner_id": "carol", "reason": "调岗"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 1
    assert (await alice.get(f"/v1/customers/{mine['id']}")).status_code == 404
    [changed] = await outbox_events(client, "customer.owner_changed")
    assert changed["data"]["previous_owner_id"] == "alice"
    assert changed["data"]["owner_id"] == "carol"
    assert changed["data"]["customer"]["owner_id"] == "carol"
    assert changed["data"]["reason"] == "调岗"


async def test_all_of_a_persons_customers_move_with_one_event_each(client, as_user) -> None:
    leaver, other = as_user("leaver", "sales_rep"), as_user("stays", "sales_rep")
    theirs = [await create_customer(leaver) for n in range(5)]
    archived = await create_customer(leaver)
    await client.post(f"/v1/customers/{archived['id']}/archive")
    kept = await create_customer(other)

    response = await as_user("boss", "sales_manager").post(
        "/v1/customers/transfer",
        json={"from_owner_id": "leaver", "to_owner_id": "heir", "reason": "离职交接"},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["count"] == 5
    assert sorted(result["customer_ids"]) == sorted(c["id"] for c in theirs)

    events = await outbox_events(client, "customer.owner_changed")
    assert sorted(e["subject"] for e in events) == sorted(c["id"] for c in theirs)
    assert {e["data"]["transfer_id"] for e in events} == {result["transfer_id"]}
    assert {e["data"]["previous_owner_id"] for e in events} == {"leaver"}
    for customer in theirs:
        now = (await client.get(f"/v1/customers/{customer['id']}")).json()
        assert (now["owner_id"], now["version"]) == ("heir", 2)
    assert await owner_of(client, archived) == "leaver"  # only live customers move
    assert await owner_of(client, kept) == "stays"


async def test_who_may_transfer_and_what_must_be_said(client, as_user) -> None:
    customer = await create_customer(client)
    viewer = as_user("v", "viewer")
    body = {"customer_ids": [customer["id"]], "to_owner_id": "x"}
    assert (await viewer.post("/v1/customers/transfer", json=body)).status_code == 403
    both = {**body, "from_owner_id": "u-admin"}
    assert (await client.post("/v1/customers/transfer", json=both)).status_code == 422
    neither = {"to_owner_id": "x"}
    assert (await client.post("/v1/customers/transfer", json=neither)).status_code == 422
    unknown = {"customer_ids": [str(uuid.uuid4())], "to_owner_id": "x"}
    assert (await client.post("/v1/customers/transfer", json=unknown)).status_code == 404
    to_self = {"from_owner_id": "u-admin", "to_owner_id": "u-admin"}
    assert (await client.post("/v1/customers/transfer", json=to_self)).status_code == 422


async def test_thousands_of_customers_move_in_a_few_statements(client) -> None:
    runtime = client.app.state.runtime
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "code": f"BULK{n:06d}",
            "kind": "enterprise",
            "name": f"批量客户{n}",
            "name_normalized": f"批量客户{n}",
            "industry": "it",
            "lifecycle": "won",
            "activity_status": "active",
            "owner_id": "leaver",
            "created_by": "seed",
            "review_status": "approved",
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for n in range(3000)
    ]
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(insert(Customer), rows)

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    started = time.perf_counter()
    try:
        response = await client.post(
            "/v1/customers/transfer", json={"from_owner_id": "leaver", "to_owner_id": "heir"}
        )
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 3000
    assert len(await outbox_events(client, "customer.owner_changed")) == 3000
    # Batched: lock, update and tags per 1000 customers, the outbox in bulk; never per customer.
    assert len(statements) < 40, len(statements)
    assert elapsed < 10, elapsed
