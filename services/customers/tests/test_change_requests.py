"""Key fields of a won customer change only through an approved change request."""

from .conftest import outbox_events
from .factories import create_customer, credit_code, request_change

NEW_NAME = "苏州金鸡湖精密制造股份有限公司"
SUZHOU = "320500"  # the administrative division in these customers' credit codes


async def test_a_won_customers_name_waits_for_approval_and_applies_when_approved(
    client, as_user
) -> None:
    rep, manager = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep, lifecycle="won")
    url = f"/v1/customers/{customer['id']}"

    response = await rep.patch(
        url,
        json={"version": 1, "name": NEW_NAME, "remarks": "改制为股份公司", "change_reason": "改制"},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    request = body["change_request"]
    assert request["status"] == "pending"
    assert request["changes"] == {"name": NEW_NAME}
    assert request["previous"] == {"name": customer["name"]}
    assert request["reason"] == "改制" and request["requested_by"] == "rep-1"
    assert response.headers["location"] == f"/v1/change-requests/{request['id']}"
    # The non-key field applied at once, the name did not.
    assert body["customer"]["remarks"] == "改制为股份公司"
    assert body["customer"]["name"] == customer["name"]
    assert (await rep.get(url)).json()["name"] == customer["name"]
    assert [e["data"]["id"] for e in await outbox_events(client, "change_request.created")] == [
        request["id"]
    ]

    approved = await manager.post(f"/v1/change-requests/{request['id']}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "boss"
    after = (await rep.get(url)).json()
    assert after["name"] == NEW_NAME and after["version"] == 3
    [approval] = await outbox_events(client, "change_request.approved")
    assert approval["data"]["changes"] == {"name": NEW_NAME}
    updates = await outbox_events(client, "customer.updated")
    assert updates[-1]["data"]["name"] == NEW_NAME and updates[-1]["actor"] == "boss"


async def test_a_rejected_request_keeps_its_reason_and_changes_nothing(client, as_user) -> None:
    rep, manager = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep, lifecycle="won")
    url = f"/v1/customers/{customer['id']}"
    request = await request_change(rep, customer, name=NEW_NAME)
    reject_url = f"/v1/change-requests/{request['id']}/reject"

    assert (await manager.post(reject_url, json={})).status_code == 422  # a reason is required
    rejected = await manager.post(reject_url, json={"reason": "营业执照未变更"})
    assert rejected.status_code == 200, rejected.text

    kept = (await rep.get(f"/v1/change-requests/{request['id']}")).json()
    assert kept["status"] == "rejected" and kept["decision_reason"] == "营业执照未变更"
    assert (await rep.get(url)).json()["name"] == customer["name"]
    [event] = await outbox_events(client, "change_request.rejected")
    assert event["data"]["decision_reason"] == "营业执照未变更"
    # A decided request cannot be decided again.
    again = await manager.post(f"/v1/change-requests/{request['id']}/approve")
    assert again.status_code == 409


async def test_only_a_manager_other_than_the_requester_decides(as_user) -> None:
    rep, boss = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep, lifecycle="won")
    request = await request_change(boss, customer, name=NEW_NAME)
    approve = f"/v1/change-requests/{request['id']}/approve"

    assert (await rep.post(approve)).status_code == 403  # a rep never approves
    assert (await boss.post(approve)).status_code == 403  # nor the requester
    assert (await rep.get(f"/v1/customers/{customer['id']}")).json()["name"] == customer["name"]
    assert (await as_user("boss-2", "sales_manager").post(approve)).status_code == 200
    assert (await rep.get(f"/v1/customers/{customer['id']}")).json()["name"] == NEW_NAME


async def test_one_pending_request_per_customer_until_withdrawn(as_user) -> None:
    rep = as_user("rep-1", "sales_rep")
    customer = await create_customer(rep, lifecycle="won")
    url = f"/v1/customers/{customer['id']}"
    first = await request_change(rep, customer, name=NEW_NAME)

    second = await rep.patch(url, json={"version": 1, "name": "另一个名字有限公司"})
    assert second.status_code == 409
    assert second.json()["change_request"]["id"] == first["id"]

    other = as_user("rep-2", "sales_rep")
    assert (await other.post(f"/v1/change-requests/{first['id']}/withdraw")).status_code == 404
    withdrawn = await rep.post(f"/v1/change-requests/{first['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    third = await rep.patch(url, json={"version": 1, "name": "另一个名字有限公司"})
    assert third.status_code == 202


async def test_customers_not_won_change_key_fields_at_once(as_user) -> None:
    rep = as_user("rep-1", "sales_rep")
    customer = await create_customer(rep, lifecycle="intent")
    changed = await rep.patch(
        f"/v1/customers/{customer['id']}", json={"version": 1, "name": NEW_NAME}
    )
    assert changed.status_code == 200 and changed.json()["name"] == NEW_NAME
    # An unchanged key field on a won customer needs no approval either.
    won = await create_customer(rep, lifecycle="won")
    same = await rep.patch(
        f"/v1/customers/{won['id']}", json={"version": 1, "name": won["name"], "remarks": "ok"}
    )
    assert same.status_code == 200 and same.json()["remarks"] == "ok"


async def test_reps_see_requests_of_their_own_customers_only(as_user) -> None:
    alice, bob = as_user("alice", "sales_rep"), as_user("bob", "sales_rep")
    customer = await create_customer(alice, lifecycle="won")
    request = await request_change(alice, customer, name=NEW_NAME)

    mine = (await alice.get("/v1/change-requests", params={"status": "pending"})).json()
    assert [r["id"] for r in mine["items"]] == [request["id"]] and mine["total"] == 1
    assert mine["items"][0]["customer_code"] == customer["code"]
    assert (await bob.get("/v1/change-requests")).json()["total"] == 0
    assert (await bob.get(f"/v1/change-requests/{request['id']}")).status_code == 404
    manager = as_user("boss", "sales_manager")
    listed = await manager.get("/v1/change-requests", params={"customer_id": customer["id"]})
    assert listed.json()["total"] == 1
    approved = await manager.get("/v1/change-requests", params={"status": "approved"})
    assert approved.json()["total"] == 0


async def test_approval_checks_the_record_again(client, as_user) -> None:
    """A credit code taken by another customer since the request: approval refused (409)."""
    rep, manager = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep, lifecycle="won", credit_code=credit_code(1, SUZHOU))
    wanted = credit_code(2, SUZHOU)
    request = await request_change(rep, customer, credit_code=wanted)
    await create_customer(client, credit_code=wanted)

    refused = await manager.post(f"/v1/change-requests/{request['id']}/approve")
    assert refused.status_code == 409
    assert (await rep.get(f"/v1/change-requests/{request['id']}")).json()["status"] == "pending"
    assert (await rep.get(f"/v1/customers/{customer['id']}")).json()["credit_code"] == (
        credit_code(1, SUZHOU)
    )


async def test_a_change_of_kind_takes_its_dependent_fields_along(as_user) -> None:
    rep, manager = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep, lifecycle="won", credit_code=credit_code(3, SUZHOU))
    url = f"/v1/customers/{customer['id']}"

    invalid = await rep.patch(url, json={"version": 1, "kind": "individual"})
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "body.credit_code"

    response = await rep.patch(
        url, json={"version": 1, "kind": "individual", "credit_code": None, "name": "周杰"}
    )
    assert response.status_code == 202, response.text
    request = response.json()["change_request"]
    assert request["changes"] == {"kind": "individual", "credit_code": None, "name": "周杰"}
    assert (await manager.post(f"/v1/change-requests/{request['id']}/approve")).status_code == 200
    after = (await rep.get(url)).json()
    assert (after["kind"], after["credit_code"], after["name"]) == ("individual", None, "周杰")
