"""Versions (no lost update), Idempotency-Key (no double create), 200 concurrent creates."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crm_customers.db.models import Customer
from crm_customers.settings import CustomersSettings

from .conftest import app_client, migrated_sqlite, outbox_events
from .factories import create_customer

NEW = {"kind": "enterprise", "name": "深圳市前海微众科技有限公司", "industry": "finance"}


async def _count_customers(client) -> int:
    async with client.app.state.runtime.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Customer))).scalar_one()


async def test_update_with_the_current_version_applies_and_bumps_it(client) -> None:
    customer = await create_customer(client)
    response = await client.patch(
        f"/v1/customers/{customer['id']}", json={"version": 1, "remarks": "重点客户"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert [e["data"]["version"] for e in await outbox_events(client, "customer.updated")] == [2]


async def test_stale_update_gets_409_and_keeps_the_other_writers_change(client) -> None:
    customer = await create_customer(client)
    url = f"/v1/customers/{customer['id']}"
    first = await client.patch(url, json={"version": 1, "remarks": "first writer"})
    assert first.status_code == 200
    stale = await client.patch(url, json={"version": 1, "remarks": "second writer"})
    assert stale.status_code == 409
    assert stale.json()["type"] == "urn:crm:problem:stale-version"
    assert stale.json()["current_version"] == 2
    assert (await client.get(url)).json()["remarks"] == "first writer"


async def test_concurrent_updates_with_the_same_version_let_exactly_one_win(client) -> None:
    customer = await create_customer(client)
    url = f"/v1/customers/{customer['id']}"
    responses = await asyncio.gather(
        *(client.patch(url, json={"version": 1, "remarks": f"writer {n}"}) for n in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7
    winner = next(r for r in responses if r.status_code == 200).json()
    assert (await client.get(url)).json()["remarks"] == winner["remarks"]


async def test_if_match_carries_the_version_and_missing_version_is_428(client) -> None:
    customer = await create_customer(client)
    url = f"/v1/customers/{customer['id']}"
    assert (await client.patch(url, json={"remarks": "x"})).status_code == 428
    ok = await client.patch(url, json={"remarks": "x"}, headers={"if-match": '"1"'})
    assert ok.status_code == 200
    assert (
        await client.patch(url, json={"remarks": "y"}, headers={"if-match": '"1"'})
    ).status_code == 409


async def test_repeated_create_with_the_same_idempotency_key_creates_one_customer(client) -> None:
    headers = {"idempotency-key": "order-7f3a"}
    first = await client.post("/v1/customers", json=NEW, headers=headers)
    again = await client.post("/v1/customers", json=NEW, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replay"] == "true"
    assert await _count_customers(client) == 1
    assert len(await outbox_events(client, "customer.created")) == 1


async def test_concurrent_requests_with_one_idempotency_key_create_one_customer(client) -> None:
    headers = {"idempotency-key": "double-click"}
    body = {**NEW, "allow_duplicate": True}
    responses = await asyncio.gather(
        *(client.post("/v1/customers", json=body, headers=headers) for _ in range(5))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count_customers(client) == 1


async def test_same_idempotency_key_with_another_body_is_refused(client) -> None:
    headers = {"idempotency-key": "k-1"}
    assert (await client.post("/v1/customers", json=NEW, headers=headers)).status_code == 201
    other = await client.post("/v1/customers", json={**NEW, "name": "另一家公司"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "urn:crm:problem:idempotency-key-reused"
    assert await _count_customers(client) == 1


async def test_idempotency_keys_belong_to_their_caller(client, as_user) -> None:
    headers = {"idempotency-key": "shared-key"}
    mine = await client.post("/v1/customers", json=NEW, headers=headers)
    theirs = await as_user("rep-9", "sales_rep").post(
        "/v1/customers", json={**NEW, "allow_duplicate": True}, headers=headers
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


async def test_200_concurrent_creates_get_200_distinct_codes_on_postgresql(client) -> None:
    body = {**NEW, "allow_duplicate": True}
    responses = await asyncio.gather(*(client.post("/v1/customers", json=body) for _ in range(200)))
    assert [r.status_code for r in responses] == [201] * 200
    codes = {r.json()["code"] for r in responses}
    year = datetime.now(UTC).year
    assert codes == {f"ABC{year}{n:03d}" for n in range(1, 201)}


@pytest.fixture
async def sqlite_client(tmp_path: Path, amqp_url: str, token_for):
    url = await migrated_sqlite(tmp_path)
    settings = CustomersSettings(database_url=url, amqp_url=amqp_url, relay_enabled=False)
    async with app_client(settings, token_for()) as client:
        yield client


async def test_200_concurrent_creates_get_200_distinct_codes_on_sqlite(sqlite_client) -> None:
    body = {**NEW, "allow_duplicate": True}
    responses = await asyncio.gather(
        *(sqlite_client.post("/v1/customers", json=body) for _ in range(200))
    )
    assert [r.status_code for r in responses] == [201] * 200
    assert len({r.json()["code"] for r in responses}) == 200


async def test_serial_widens_past_999(client) -> None:
    from crm_customers.db.models import CodeSequence
    from crm_customers.domain.codes import sequence_scope

    year = datetime.now(UTC).year
    async with client.app.state.runtime.sessionmaker() as session, session.begin():
        session.add(CodeSequence(scope=sequence_scope("ABC", year), last_serial=999))
    created = await client.post("/v1/customers", json=NEW)
    assert created.json()["code"] == f"ABC{year}1000"


async def test_the_code_numbered_in_sql_is_the_code_the_domain_formats(client) -> None:
    """On PostgreSQL the create's INSERT numbers the code itself (domain/codes.py formats it
    in Python on SQLite): both give the same codes, across the widening at 1000."""
    from crm_customers.db.models import CodeSequence
    from crm_customers.domain.codes import format_customer_code, sequence_scope

    year = datetime.now(UTC).year
    async with client.app.state.runtime.sessionmaker() as session, session.begin():
        session.add(CodeSequence(scope=sequence_scope("ABC", year), last_serial=997))
    body = {**NEW, "allow_duplicate": True}
    codes = [(await client.post("/v1/customers", json=body)).json()["code"] for _ in range(3)]
    assert codes == [format_customer_code("ABC", year, n) for n in (998, 999, 1000)]


async def test_an_inactive_industry_writes_nothing(client) -> None:
    await client.patch("/v1/industries/it", json={"active": False})
    refused = await client.post("/v1/customers", json={**NEW, "industry": "it"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.industry"
    assert await _count_customers(client) == 0


async def test_concurrent_creates_with_one_credit_code_create_one_customer(client) -> None:
    body = {**NEW, "credit_code": "91350100M000100Y43", "allow_duplicate": True}
    responses = await asyncio.gather(*(client.post("/v1/customers", json=body) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    assert await _count_customers(client) == 1


async def test_a_sequence_made_in_a_rolled_back_transaction_is_made_again(client) -> None:
    """A new scope's sequence is created by the first transaction that needs it; if that
    transaction rolls back, the sequence is gone and the next create must make it again."""
    from crm_customers.db.serials import take_serials

    class Abandon(Exception):
        pass

    sessionmaker = client.app.state.runtime.sessionmaker
    with pytest.raises(Abandon):
        async with sessionmaker() as session, session.begin():
            first = await take_serials(session, "customer:ZZ:2031")
            again = await take_serials(session, "customer:ZZ:2031", 2)
            raise Abandon  # rolls the transaction back, the new sequence with it
    assert first == [1]
    assert again == [2, 3]
    async with sessionmaker() as session, session.begin():
        assert await take_serials(session, "customer:ZZ:2031") == [1]
    async with sessionmaker() as session, session.begin():  # committed now: remembered
        assert await take_serials(session, "customer:ZZ:2031") == [2]
