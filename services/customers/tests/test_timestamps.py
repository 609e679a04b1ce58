"""Every time the API answers and every time its events carry is UTC with its offset, on
PostgreSQL and on SQLite (which stores times without one and read them back naive: a list or
a read by id said ``2026-11-30T03:44:04.489832`` where the create had said ``…Z``)."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from crm_customers.__main__ import MIGRATIONS_DIR
from crm_customers.main import create_app
from crm_customers.settings import CustomersSettings
from crm_platform.events.outbox import OutboxMessage
from crm_platform.migrations import upgrade
from crm_platform.testing import bearer

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@pytest.fixture(params=["postgresql", "sqlite"])
async def app_client(
    request: pytest.FixtureRequest, database_factory, amqp_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "postgresql":
        url = await database_factory("customers_times", migrations=MIGRATIONS_DIR)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    settings = CustomersSettings(
        database_url=url,
        amqp_url=amqp_url,
        customer_code_prefix="ABC",
        relay_enabled=False,  # the outbox rows are read below
        consumer_enabled=False,  # nothing here consumes
    )
    app = create_app(settings)
    headers = bearer(settings.internal_token_secret, "admin", subject="u-admin")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://customers", headers=headers
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            client.manager_headers = bearer(  # type: ignore[attr-defined]
                settings.internal_token_secret, "sales_manager", subject="u-manager"
            )
            yield client


def timestamps(document: Any, where: str = "$") -> list[tuple[str, str]]:
    """Every (path, value) in a JSON document that is a time, or a non-null ``*_at`` field."""
    found: list[tuple[str, str]] = []
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{where}.{key}"
            if isinstance(key, str) and key.endswith("_at") and value is not None:
                assert isinstance(value, str), f"{path} is {value!r}"
            found += timestamps(value, path)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += timestamps(value, f"{where}[{index}]")
    elif isinstance(document, str) and TIMESTAMP.match(document):
        found.append((where, document))
    return found


def without_offset(document: Any) -> list[tuple[str, str]]:
    return [
        (path, value)
        for path, value in timestamps(document)
        if not (value.endswith("Z") or value.endswith("+00:00"))
    ]


async def test_every_timestamp_in_responses_and_events_is_utc_with_its_offset(
    app_client: httpx.AsyncClient,
) -> None:
    client = app_client
    answers: dict[str, Any] = {}

    async def call(label: str, method: str, url: str, expected: int, **kwargs: Any) -> Any:
        response = await client.request(method, url, **kwargs)
        assert response.status_code == expected, (label, response.text)
        answers[label] = response.json() if response.content else None
        return answers[label]

    body = {
        "kind": "enterprise",
        "name": "上海星辰科技有限公司",
        "industry": "it",
        "lifecycle": "won",
        "contacts": [{"name": "张伟", "mobile": "13800138000"}],
    }
    created = await call("create", "POST", "/v1/customers", 201, json=body)
    customer_url = f"/v1/customers/{created['id']}"
    await call("read", "GET", customer_url, 200)
    await call("list", "GET", "/v1/customers", 200)
    await call("list-filtered", "GET", "/v1/customers", 200, params={"created_from": "2000-01-01"})
    await call("patch", "PATCH", customer_url, 200, json={"version": 1, "remarks": "x"})
    contact = await call(
        "contact-create", "POST", f"{customer_url}/contacts", 201, json={"name": "李娜"}
    )
    await call("contacts", "GET", f"{customer_url}/contacts", 200)
    await call(
        "contact-patch",
        "PATCH",
        f"{customer_url}/contacts/{contact['id']}",
        200,
        json={"version": 1, "position": "采购经理"},
    )
    await call("review", "POST", f"{customer_url}/review", 200, json={"activity_status": "active"})
    await call("review-due", "GET", "/v1/customers/review-due", 200)
    indicators = await call("indicators", "GET", "/v1/grading/indicators", 200)
    scores = [{"indicator_id": i["id"], "score": "80"} for i in indicators]
    evaluation = await call(
        "evaluate", "POST", f"{customer_url}/evaluations", 201, json={"scores": scores}
    )
    await call("evaluations", "GET", f"{customer_url}/evaluations", 200)
    await call("evaluation", "GET", f"/v1/grading/evaluations/{evaluation['id']}", 200)
    await call("policy", "GET", "/v1/grading/policy", 200)
    changed = await call(
        "key-change",
        "PATCH",
        customer_url,
        202,
        json={"version": 4, "name": "上海星辰智能科技有限公司", "change_reason": "更名"},
    )
    request_url = f"/v1/change-requests/{changed['change_request']['id']}"
    await call("change-request", "GET", request_url, 200)
    await call("change-requests", "GET", "/v1/change-requests", 200)
    await call(
        "approve", "POST", f"{request_url}/approve", 200, json={}, headers=client.manager_headers
    )
    await call("archive", "POST", f"{customer_url}/archive", 200, json={})
    csv = "客户名称,客户类型,所属行业\n杭州云栖网络有限公司,企业,it\n".encode()
    upload = {"file": ("customers.csv", csv, "text/csv")}
    imported = await call(
        "import", "POST", "/v1/customers/imports", 201, params={"dry_run": "false"}, files=upload
    )
    await call("import-read", "GET", f"/v1/customers/imports/{imported['id']}", 200)
    await call("imports", "GET", "/v1/customers/imports", 200)

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    async with runtime.sessionmaker() as session:
        rows = (
            await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.created_at)))
        ).all()
    events = [json.loads(row.body) for row in rows]
    assert {e["type"].removeprefix("crm.") for e in events} >= {
        "customer.created",
        "customer.updated",
        "customer.graded",
        "customer.reviewed",
        "customer.archived",
        "contact.changed",
    }

    # Each answer and each event carries times, so an empty check cannot pass by accident.
    for label in ("create", "read", "list", "patch", "contacts", "evaluation", "imports"):
        assert timestamps(answers[label]), label
    assert all(timestamps(e["time"]) for e in events)  # the envelope's own time
    assert any(timestamps(e["data"]) for e in events)  # and payloads that carry times
    bad = {label: without_offset(answer) for label, answer in answers.items()}
    assert {label: found for label, found in bad.items() if found} == {}
    bad_events = [(e["type"], without_offset(e)) for e in events if without_offset(e)]
    assert bad_events == []
    # The rows' own times (read back through the ORM) are aware UTC as well.
    assert {row.created_at.utcoffset() for row in rows} == {timedelta(0)}
