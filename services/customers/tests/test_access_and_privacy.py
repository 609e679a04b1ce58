"""Owner-level visibility and the encrypted, masked, audited ID number."""

import uuid

from sqlalchemy import text

from .conftest import outbox_events
from .factories import create_customer, create_individual, enterprise_body, individual_body
from .test_validation import VALID_ID_NUMBER


async def test_a_rep_sees_and_edits_only_their_own_customers(as_user) -> None:
    alice, bob = as_user("alice", "sales_rep"), as_user("bob", "sales_rep")
    mine = await create_customer(alice)
    theirs = await create_customer(bob)

    listed = (await alice.get("/v1/customers")).json()
    assert [c["id"] for c in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert (await alice.get("/v1/customers", params={"owner_id": "bob"})).json()["total"] == 0
    assert (await alice.get("/v1/customers", params={"q": theirs["code"]})).json()["total"] == 0

    url = f"/v1/customers/{theirs['id']}"
    assert (await alice.get(url)).status_code == 404
    assert (await alice.patch(url, json={"version": 1, "remarks": "mine now"})).status_code == 404
    assert (await alice.post(f"{url}/archive")).status_code == 404
    assert (await alice.get(f"{url}/contacts")).status_code == 404
    assert (await alice.post(f"{url}/contacts", json={"name": "x"})).status_code == 404
    assert (await bob.get(url)).json()["remarks"] is None


async def test_a_rep_cannot_create_for_someone_else(as_user) -> None:
    response = await as_user("alice", "sales_rep").post(
        "/v1/customers", json=enterprise_body(owner_id="bob")
    )
    assert response.status_code == 403


async def test_service_roles_read_all_but_change_nothing(as_user) -> None:
    created = await create_customer(as_user("alice", "sales_rep"))
    agent = as_user("agent-1", "service_agent")
    assert (await agent.get("/v1/customers")).json()["total"] == 1
    assert (await agent.get(f"/v1/customers/{created['id']}")).status_code == 200
    update = await agent.patch(
        f"/v1/customers/{created['id']}", json={"version": 1, "remarks": "x"}
    )
    assert update.status_code == 403
    assert (await agent.post("/v1/customers", json=enterprise_body())).status_code == 403


async def test_managers_see_everyone(as_user) -> None:
    await create_customer(as_user("alice", "sales_rep"))
    await create_customer(as_user("bob", "sales_rep"))
    manager = as_user("boss", "sales_manager")
    assert (await manager.get("/v1/customers")).json()["total"] == 2
    assert (await manager.get("/v1/customers", params={"owner_id": "bob"})).json()["total"] == 1


async def test_id_number_is_encrypted_at_rest(client) -> None:
    created = await create_individual(client, id_number=VALID_ID_NUMBER)
    async with client.app.state.runtime.engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT id_number_encrypted, id_number_index FROM customer WHERE id = :id"),
                {"id": uuid.UUID(created["id"])},
            )
        ).one()
    assert row.id_number_encrypted.startswith("v1:")
    assert VALID_ID_NUMBER not in row.id_number_encrypted
    assert VALID_ID_NUMBER[-4:] not in row.id_number_encrypted
    assert VALID_ID_NUMBER not in (row.id_number_index or "")


async def test_a_rep_sees_the_id_number_masked_and_no_audit_is_written(client, as_user) -> None:
    rep = as_user("alice", "sales_rep")
    created = await create_individual(rep, id_number=VALID_ID_NUMBER)
    assert created["id_number"] == "1101**********002X"
    fetched = (await rep.get(f"/v1/customers/{created['id']}")).json()
    assert fetched["id_number"] == "1101**********002X"
    assert await outbox_events(client, "customer.sensitive_read") == []


async def test_an_admin_reads_it_unmasked_and_each_read_is_audited(client) -> None:
    created = await create_individual(client, id_number=VALID_ID_NUMBER)
    for _ in range(2):
        fetched = (await client.get(f"/v1/customers/{created['id']}")).json()
        assert fetched["id_number"] == VALID_ID_NUMBER
    audits = await outbox_events(client, "customer.sensitive_read")
    assert len(audits) == 2
    assert audits[0]["data"] == {
        "customer_id": created["id"],
        "fields": ["id_number"],
        "reader_id": "u-admin",
        "reader_roles": ["admin"],
    }
    listed = (await client.get("/v1/customers")).json()["items"][0]
    assert listed["id_number"] == "1101**********002X", "lists stay masked, even for admins"


async def test_the_same_id_number_twice_is_refused_with_a_pointer(client) -> None:
    first = await create_individual(client, id_number=VALID_ID_NUMBER)
    again = await client.post("/v1/customers", json=individual_body(id_number=VALID_ID_NUMBER))
    assert again.status_code == 409
    assert again.json()["existing"]["id"] == first["id"]
