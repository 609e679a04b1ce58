"""New-record review (CRM_CUSTOMER_REVIEW_NEW): pending → approved, or rejected with a reason
the owner reads, corrects and resubmits."""

import pytest

from .conftest import outbox_events
from .factories import create_contact, create_customer


@pytest.fixture
def settings(settings):  # the conftest's, with the review switched on
    return settings.model_copy(update={"customer_review_new": True})


async def test_new_customers_wait_in_the_review_queue_until_a_manager_approves(
    client, as_user
) -> None:
    rep, manager = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep)
    assert customer["review_status"] == "pending"
    assert (await rep.get(f"/v1/customers/{customer['id']}")).status_code == 200  # owner sees it

    queue = (await manager.get("/v1/customers", params={"review_status": "pending"})).json()
    assert [c["id"] for c in queue["items"]] == [customer["id"]]

    url = f"/v1/customers/{customer['id']}/review-decision"
    assert (await rep.post(url, json={"decision": "approve"})).status_code == 403
    decided = await manager.post(url, json={"decision": "approve", "version": 1})
    assert decided.status_code == 200, decided.text
    assert decided.json()["customer"]["review_status"] == "approved"
    assert (await manager.get("/v1/customers", params={"review_status": "pending"})).json()[
        "total"
    ] == 0
    updated = await outbox_events(client, "customer.updated")
    assert updated[-1]["data"]["review_status"] == "approved"
    assert (await manager.post(url, json={"decision": "approve"})).status_code == 409


async def test_a_rejection_keeps_its_reason_and_the_owner_resubmits(as_user) -> None:
    rep, manager = as_user("rep-1", "sales_rep"), as_user("boss", "sales_manager")
    customer = await create_customer(rep)
    url = f"/v1/customers/{customer['id']}"

    no_reason = await manager.post(f"{url}/review-decision", json={"decision": "reject"})
    assert no_reason.status_code == 422
    rejected = await manager.post(
        f"{url}/review-decision", json={"decision": "reject", "reason": "缺少联系人"}
    )
    assert rejected.json()["customer"]["review_status"] == "rejected"

    history = (await rep.get(f"{url}/review-decisions")).json()
    assert [(d["decision"], d["reason"]) for d in history] == [("rejected", "缺少联系人")]
    await create_contact(rep, customer, name="刘经理")
    resubmitted = await rep.post(f"{url}/review-resubmit", json={"reason": "已补充联系人"})
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["customer"]["review_status"] == "pending"
    assert (await as_user("rep-2", "sales_rep").post(f"{url}/review-resubmit")).status_code == 404
