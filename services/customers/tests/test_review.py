"""Quarterly review (seed 002): quarters counted in Asia/Shanghai, who is due, marking a
customer reviewed with its activity status, and who may do it."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from crm_customers.db.models import Customer
from crm_customers.domain.quarters import Quarter, current_quarter_start, quarter_of

from .conftest import outbox_events
from .factories import create_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- the pure quarter rules ---------------------------------------------------------------


def test_quarters_follow_the_calendar_months() -> None:
    assert quarter_of(datetime(2026, 1, 15, tzinfo=SHANGHAI), SHANGHAI) == Quarter(2026, 1)
    assert quarter_of(datetime(2026, 5, 1, tzinfo=SHANGHAI), SHANGHAI) == Quarter(2026, 2)
    assert quarter_of(datetime(2026, 9, 30, 23, tzinfo=SHANGHAI), SHANGHAI) == Quarter(2026, 3)
    assert quarter_of(datetime(2026, 12, 31, tzinfo=SHANGHAI), SHANGHAI) == Quarter(2026, 4)
    assert Quarter(2026, 4).label == "2026-Q4"


def test_the_quarter_turns_at_midnight_in_shanghai_not_in_utc() -> None:
    # 2026-04-01 00:00 in Shanghai is 2026-03-31 16:00 UTC.
    last_q1_second = datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)
    first_q2_second = datetime(2026, 3, 31, 16, 0, 0, tzinfo=UTC)
    assert quarter_of(last_q1_second, SHANGHAI) == Quarter(2026, 1)
    assert quarter_of(first_q2_second, SHANGHAI) == Quarter(2026, 2)
    assert quarter_of(first_q2_second, ZoneInfo("UTC")) == Quarter(2026, 1)  # UTC disagrees
    assert current_quarter_start(first_q2_second, SHANGHAI) == first_q2_second
    assert current_quarter_start(last_q1_second, SHANGHAI) == datetime(2025, 12, 31, 16, tzinfo=UTC)


def test_quarter_bounds_across_the_year_end_are_in_utc() -> None:
    q4 = Quarter(2026, 4)
    assert q4.start(SHANGHAI) == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert q4.end(SHANGHAI) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert q4.next() == Quarter(2027, 1)
    new_years_eve_utc = datetime(2026, 12, 31, 17, tzinfo=UTC)  # 01:00 on 1 Jan in Shanghai
    assert quarter_of(new_years_eve_utc, SHANGHAI) == Quarter(2027, 1)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        quarter_of(datetime(2026, 4, 1), SHANGHAI)


# --- API helpers --------------------------------------------------------------------------


async def set_last_reviewed(client, customer: dict, when: datetime | None) -> None:
    """Put the record in a past state directly (no API sets a past review time)."""
    async with client.app.state.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            update(Customer)
            .where(Customer.id == uuid.UUID(customer["id"]))
            .values(last_reviewed_at=when)
        )


async def due_ids(client, **params) -> set[str]:
    response = await client.get("/v1/customers/review-due", params={"page_size": 200, **params})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


def this_quarter_start() -> datetime:
    return current_quarter_start(datetime.now(UTC), SHANGHAI)


# --- who is due ---------------------------------------------------------------------------


async def test_never_reviewed_and_last_quarters_reviews_are_due(client) -> None:
    never = await create_customer(client)
    last_quarter = await create_customer(client)
    this_quarter = await create_customer(client)
    at_the_boundary = await create_customer(client)
    start = this_quarter_start()
    await set_last_reviewed(client, last_quarter, start - timedelta(seconds=1))
    await set_last_reviewed(client, this_quarter, datetime.now(UTC))
    await set_last_reviewed(client, at_the_boundary, start)

    assert await due_ids(client) == {never["id"], last_quarter["id"]}


async def test_due_is_decided_by_the_shanghai_quarter_not_the_utc_one(client) -> None:
    # Reviewed one hour into this quarter in Shanghai: still the previous quarter in UTC
    # (Shanghai's quarter starts at 16:00 UTC on the last day of the UTC quarter).
    reviewed = await create_customer(client)
    start = this_quarter_start()
    early_in_shanghai = start + timedelta(hours=1)
    assert quarter_of(early_in_shanghai, ZoneInfo("UTC")) != quarter_of(early_in_shanghai, SHANGHAI)
    await set_last_reviewed(client, reviewed, early_in_shanghai)
    assert reviewed["id"] not in await due_ids(client)


async def test_archived_customers_are_not_due(client) -> None:
    live = await create_customer(client)
    archived = await create_customer(client)
    await client.post(f"/v1/customers/{archived['id']}/archive")
    assert await due_ids(client) == {live["id"]}


async def test_the_due_list_pages_with_a_total_and_filters(client) -> None:
    created = [await create_customer(client) for _ in range(3)]
    dormant = await create_customer(client, activity_status="dormant")
    first = (await client.get("/v1/customers/review-due", params={"page_size": 2})).json()
    second = (
        await client.get("/v1/customers/review-due", params={"page_size": 2, "page": 2})
    ).json()
    assert (first["total"], first["page"], first["page_size"]) == (4, 1, 2)
    assert len(first["items"]) == 2 and len(second["items"]) == 2
    codes = [c["code"] for c in first["items"] + second["items"]]
    assert codes == sorted(c["code"] for c in [*created, dormant])  # default: by code
    assert await due_ids(client, activity_status="dormant") == {dormant["id"]}


async def test_a_rep_sees_only_their_own_due_customers(client, as_user) -> None:
    alices = await create_customer(client, owner_id="alice")
    await create_customer(client, owner_id="bob")
    alice = as_user("alice", "sales_rep")
    page = (await alice.get("/v1/customers/review-due")).json()
    assert page["total"] == 1 and [c["id"] for c in page["items"]] == [alices["id"]]
    assert len(await due_ids(as_user("v", "viewer"))) == 2  # read-all roles see every one


# --- marking reviewed ---------------------------------------------------------------------


async def test_reviewing_sets_the_status_and_time_through_the_versioned_path(client) -> None:
    customer = await create_customer(client)
    before = datetime.now(UTC)
    response = await client.post(
        f"/v1/customers/{customer['id']}/review",
        json={"activity_status": "dormant", "note": "半年未下单、已电话回访", "version": 1},
    )
    assert response.status_code == 200, response.text
    reviewed = response.json()
    assert reviewed["activity_status"] == "dormant"
    assert reviewed["version"] == 2 and response.headers["etag"] == '"2"'
    assert datetime.fromisoformat(reviewed["last_reviewed_at"]) >= before
    assert customer["id"] not in await due_ids(client)

    updated = await outbox_events(client, "customer.updated")
    assert [e["data"]["activity_status"] for e in updated] == ["dormant"]
    events = await outbox_events(client, "customer.reviewed")
    assert len(events) == 1 and events[0]["subject"] == customer["id"]
    data = events[0]["data"]
    assert data["note"] == "半年未下单、已电话回访"
    assert (data["previous_activity_status"], data["activity_status"]) == ("active", "dormant")
    assert data["quarter"] == quarter_of(datetime.now(UTC), SHANGHAI).label
    assert data["customer"]["version"] == 2 and data["customer"]["activity_status"] == "dormant"


async def test_a_review_confirming_the_status_still_counts(client) -> None:
    customer = await create_customer(client)
    response = await client.post(
        f"/v1/customers/{customer['id']}/review", json={"activity_status": "active"}
    )
    assert response.status_code == 200
    assert response.json()["last_reviewed_at"] is not None
    assert await due_ids(client) == set()
    assert len(await outbox_events(client, "customer.reviewed")) == 1


async def test_review_refuses_stale_versions_bad_statuses_and_archived_customers(client) -> None:
    customer = await create_customer(client)
    url = f"/v1/customers/{customer['id']}/review"
    await client.patch(f"/v1/customers/{customer['id']}", json={"remarks": "x", "version": 1})

    stale = await client.post(url, json={"activity_status": "churned", "version": 1})
    assert stale.status_code == 409
    bad = await client.post(url, json={"activity_status": "sleeping"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "body.activity_status"
    extra = await client.post(url, json={"activity_status": "active", "grade": "A"})
    assert extra.status_code == 422
    fetched = (await client.get(f"/v1/customers/{customer['id']}")).json()
    assert (fetched["activity_status"], fetched["last_reviewed_at"]) == ("active", None)

    await client.post(f"/v1/customers/{customer['id']}/archive")
    archived = await client.post(url, json={"activity_status": "churned"})
    assert archived.status_code == 409
    assert await outbox_events(client, "customer.reviewed") == []


async def test_a_rep_reviews_only_their_own_customers(client, as_user) -> None:
    alice = as_user("alice", "sales_rep")
    alices = await create_customer(client, owner_id="alice")
    bobs = await create_customer(client, owner_id="bob")
    own = await alice.post(
        f"/v1/customers/{alices['id']}/review", json={"activity_status": "active"}
    )
    assert own.status_code == 200
    other = await alice.post(
        f"/v1/customers/{bobs['id']}/review", json={"activity_status": "churned"}
    )
    assert other.status_code == 404
    assert (await client.get(f"/v1/customers/{bobs['id']}")).json()["activity_status"] == "active"


@pytest.mark.parametrize("role", ["viewer", "service_agent"])
async def test_readers_cannot_mark_reviewed(client, as_user, role) -> None:
    customer = await create_customer(client, owner_id="bob")
    response = await as_user("reader", role).post(
        f"/v1/customers/{customer['id']}/review", json={"activity_status": "dormant"}
    )
    assert response.status_code == 403
    assert customer["id"] in await due_ids(client)


async def test_a_manager_reviews_any_customer(client, as_user) -> None:
    customer = await create_customer(client, owner_id="bob")
    response = await as_user("mgr", "sales_manager").post(
        f"/v1/customers/{customer['id']}/review", json={"activity_status": "churned"}
    )
    assert response.status_code == 200 and response.json()["activity_status"] == "churned"


async def test_reviewing_an_unknown_customer_is_404(client) -> None:
    response = await client.post(
        f"/v1/customers/{uuid.uuid4()}/review", json={"activity_status": "active"}
    )
    assert response.status_code == 404
