"""End to end: five real services, real RabbitMQ, real PostgreSQL."""

import asyncio
import uuid

import asyncpg
import httpx

from crm_platform.testing import events_consumed, fetch, wait_until

NEW = {
    "kind": "enterprise",
    "name": "杭州云帆贸易有限公司",
    "industry": "retail",
    "allow_duplicate": True,
}


async def _replicated(system, service: str, customer_id: str) -> list:
    return await fetch(
        system.database_urls[service],
        "SELECT code, name, owner_id, lifecycle FROM customer_replica WHERE id = $1",
        uuid.UUID(customer_id),
    )


async def _in_inbox(system, service: str, event_type: str) -> int:
    rows = await fetch(
        system.database_urls[service],
        "SELECT count(*) AS n FROM inbox_message WHERE type = $1",
        event_type,
    )
    return rows[0]["n"]


async def test_a_customer_created_at_the_gateway_reaches_every_service(system) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        created = await client.post("/api/v1/customers", json=NEW)
        assert created.status_code == 201, created.text
        customer = created.json()
        listed = await client.get("/api/v1/customers", params={"page_size": 100})
        assert listed.status_code == 200
        assert customer["id"] in {c["id"] for c in listed.json()["items"]}
        fetched = await client.get(f"/api/v1/customers/{customer['id']}")
        assert fetched.json()["code"] == customer["code"]

    for service in ("engagement", "service-desk"):
        [row] = await wait_until(
            lambda s=service: _replicated(system, s, customer["id"]), message=f"{service} replica"
        )
        assert (row["code"], row["name"], row["lifecycle"]) == (
            customer["code"],
            NEW["name"],
            "prospect",
        )
    await wait_until(
        lambda: _in_inbox(system, "notifier", "crm.customer.created"), message="notifier inbox"
    )


async def test_every_service_is_ready_and_exposes_http_and_bus_metrics(system) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        await client.post(system.gateway + "/api/v1/customers", json=NEW, headers=system.admin)
        for name, process in system.processes.items():
            ready = await client.get(process.url + "/readyz")
            assert ready.status_code == 200, f"{name}: {ready.text}"
            assert ready.json()["checks"]["relay"] == "ok", name
            await client.get(process.url + "/healthz")
            metrics = (await client.get(process.url + "/metrics")).text
            assert "http_requests_total{" in metrics, name
            assert "http_request_duration_seconds_bucket{" in metrics, name
            assert "crm_outbox_backlog" in metrics, name
        customers = (await client.get(system["customers"].url + "/metrics")).text
        assert 'crm_events_published_total{type="customer.created"}' in customers
        engagement = (await client.get(system["engagement"].url + "/metrics")).text
        assert 'crm_events_consumed_total{outcome="handled",type="customer.created"}' in engagement
        assert "crm_event_lag_seconds_bucket" in engagement


async def test_services_refuse_calls_that_bypass_the_gateway(system) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(system["customers"].url + "/v1/customers")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        forged = await client.get(
            system["customers"].url + "/v1/customers", headers={"authorization": "Bearer x.y.z"}
        )
        assert forged.status_code == 401


async def test_bad_input_through_the_gateway_is_a_problem_not_a_500(system) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        for body in (b"{", b'{"kind": 5}', b'{"kind": "alien", "name": "x", "industry": "it"}'):
            response = await client.post(
                "/api/v1/customers", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
        huge = await client.post("/api/v1/customers", json={**NEW, "name": "x" * 2_000_000})
        assert huge.status_code == 413


async def _outbox_rows(system, customer_id: str) -> list:
    return await fetch(
        system.database_urls["customers"],
        "SELECT id, published_at FROM outbox_message WHERE body LIKE $1",
        f"%{customer_id}%",
    )


async def test_a_sigkill_with_committed_rows_still_in_the_relays_hands_loses_nothing(
    system,
) -> None:
    """The relay holds a commit's rows in memory for its batch window (1 s here) before it
    publishes them; a SIGKILL then loses the memory, not the event."""
    customers = system["customers"]
    customers.stop()
    await customers.start(extra_env={"CRM_OUTBOX_BATCH_WINDOW_MS": "1000"})
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        customer = (await client.post("/api/v1/customers", json=NEW)).json()
    customers.kill()  # within the window: handed to the relay, not yet published
    [row] = await _outbox_rows(system, customer["id"])
    assert row["published_at"] is None
    await asyncio.sleep(0.5)
    assert await _replicated(system, "engagement", customer["id"]) == []

    await customers.start(extra_env={"CRM_OUTBOX_HANDOFF_GRACE_SECONDS": "1"})
    await wait_until(lambda: _replicated(system, "engagement", customer["id"]), message="replica")
    [row] = await _outbox_rows(system, customer["id"])
    assert row["published_at"] is not None
    customers.stop()
    await customers.start()


async def test_a_sigkill_between_publish_and_marking_is_applied_once(system) -> None:
    """The broker has the event, the row is not yet marked (the test holds its row lock), and
    the relay's process dies: the restarted relay publishes it again, and the consumer's
    inbox turns the second delivery into a no-op."""
    customers, engagement = system["customers"], system["engagement"]
    customers.stop()
    await customers.start(extra_env={"CRM_OUTBOX_BATCH_WINDOW_MS": "1000"})
    consumed = httpx.AsyncClient(base_url=engagement.url, timeout=5)
    handled_before = await events_consumed(consumed, "customer.created", "handled")
    duplicates_before = await events_consumed(consumed, "customer.created", "duplicate")
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        customer = (await client.post("/api/v1/customers", json=NEW)).json()
    dsn = system.database_urls["customers"].replace("postgresql+asyncpg://", "postgresql://")
    holder = await asyncpg.connect(dsn)
    try:
        async with holder.transaction():
            [row] = await holder.fetch(
                "SELECT id, published_at FROM outbox_message WHERE body LIKE $1 FOR UPDATE",
                f"%{customer['id']}%",
            )
            assert row["published_at"] is None  # locked before the relay's window ended
            await wait_until(
                lambda: _replicated(system, "engagement", customer["id"]),
                message="the event published and applied while its row stays unmarked",
            )
            await asyncio.sleep(0.3)  # the relay's mark is now waiting for our lock
            customers.kill()
            # Its connections die with it (PostgreSQL would only notice a vanished client
            # waiting on a lock when it next writes to it).
            await holder.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        [row] = await _outbox_rows(system, customer["id"])
        assert row["published_at"] is None
    finally:
        await holder.close()

    await customers.start(extra_env={"CRM_OUTBOX_HANDOFF_GRACE_SECONDS": "1"})

    async def published_again() -> bool:
        [row] = await _outbox_rows(system, customer["id"])
        duplicates = await events_consumed(consumed, "customer.created", "duplicate")
        return row["published_at"] is not None and duplicates > duplicates_before

    await wait_until(published_again, message="the second publication and its no-op")
    handled = await events_consumed(consumed, "customer.created", "handled")
    assert handled - handled_before == 1
    assert await _in_inbox(system, "engagement", "crm.customer.created") >= 1
    [replica] = await _replicated(system, "engagement", customer["id"])
    assert replica["code"] == customer["code"]
    await consumed.aclose()
    customers.stop()
    await customers.start()


async def test_admins_see_each_services_event_backlog_through_the_gateway(system) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        for service in ("customers", "engagement", "service-desk", "notifier"):
            pending = await client.get(f"/api/v1/admin/{service}/outbox?state=pending")
            assert pending.status_code == 200, (service, pending.text)
            assert isinstance(pending.json(), list)
            parked = await client.get(f"/api/v1/admin/{service}/parked-events")
            assert parked.status_code == 200, (service, parked.text)
            assert parked.json() == []


async def test_gateway_answers_503_problem_when_customers_is_down(system) -> None:
    customers = system["customers"]
    customers.kill()
    try:
        async with httpx.AsyncClient(
            base_url=system.gateway, headers=system.admin, timeout=10
        ) as client:
            response = await client.get("/api/v1/customers")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert "customers" in response.json()["detail"]
    finally:
        await customers.start()


async def test_gateway_forwards_only_whole_path_segments(system) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        assert (await client.get("/api/v1/customersXYZ")).status_code == 404


async def test_imports_pass_through_the_gateway_beyond_the_default_body_limit(system) -> None:
    header = "客户名称,客户类型,所属行业,备注\n"
    remark = "需求" * 100
    rows = "".join(f"网关导入测试{n:05d}有限公司,企业,制造业,{remark}\n" for n in range(3000))
    body = (header + rows).encode()
    assert len(body) > 1_048_576  # larger than any other route accepts
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=60
    ) as client:
        response = await client.post(
            "/api/v1/customers/imports",
            params={"dry_run": "true"},
            files={"file": ("customers.csv", body, "text/csv")},
        )
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["valid"] == 3000


async def test_replicas_follow_updates_and_owner_transfers(system) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway, headers=system.admin, timeout=10
    ) as client:
        customer = (await client.post("/api/v1/customers", json=NEW)).json()
        renamed = await client.patch(
            f"/api/v1/customers/{customer['id']}", json={"version": 1, "lifecycle": "intent"}
        )
        assert renamed.status_code == 200, renamed.text
        moved = await client.post(
            "/api/v1/customers/transfer",
            json={"customer_ids": [customer["id"]], "to_owner_id": "rep-successor"},
        )
        assert moved.status_code == 200, moved.text

    async def followed(service: str) -> bool:
        rows = await _replicated(system, service, customer["id"])
        return bool(rows) and (rows[0]["owner_id"], rows[0]["lifecycle"]) == (
            "rep-successor",
            "intent",
        )

    for service in ("engagement", "service-desk"):
        await wait_until(lambda s=service: followed(s), message=f"{service} replica to follow")


async def test_an_owner_transfer_moves_open_reminders_and_opportunities(system) -> None:
    """SPEC §1 transfer, across services: the customers service moves the customer, and
    engagement moves its open work on that customer (a follow-up's reminder, an action item,
    an open opportunity) to the successor; a closed opportunity stays with whoever closed it."""
    async with httpx.AsyncClient(base_url=system.gateway, headers=system.admin, timeout=10) as c:
        customer = (await c.post("/api/v1/customers", json=NEW)).json()
        await wait_until(
            lambda: _replicated(system, "engagement", customer["id"]), message="replica"
        )
        logged = await c.post(
            "/api/v1/follow-ups",
            json={
                "customer_id": customer["id"],
                "method": "visit",
                "feedback": "positive",
                "summary": "拜访了采购负责人, 对方希望下周收到正式报价和实施计划",
                "next_follow_up_at": "2099-01-05T10:00:00+08:00",
                "follower_id": customer["owner_id"],
                "action_items": [{"action": "发送报价单", "due_on": "2099-01-04"}],
            },
        )
        assert logged.status_code == 201, logged.text
        opportunity = await c.post(
            "/api/v1/opportunities",
            json={
                "customer_id": customer["id"],
                "name": "年度采购框架协议",
                "expected_amount": "250000.00",
            },
        )
        assert opportunity.status_code == 201, opportunity.text
        moved = await c.post(
            "/api/v1/customers/transfer",
            json={"customer_ids": [customer["id"]], "to_owner_id": "rep-heir"},
        )
        assert moved.status_code == 200, moved.text

    async def moved_over() -> bool:
        reminders = await fetch(
            system.database_urls["engagement"],
            "SELECT DISTINCT recipient_id FROM reminder WHERE customer_id = $1 "
            "AND fired_at IS NULL AND cancelled_at IS NULL",
            uuid.UUID(customer["id"]),
        )
        owners = await fetch(
            system.database_urls["engagement"],
            "SELECT owner_id FROM opportunity WHERE customer_id = $1",
            uuid.UUID(customer["id"]),
        )
        return [r["recipient_id"] for r in reminders] == ["rep-heir"] and [
            r["owner_id"] for r in owners
        ] == ["rep-heir"]

    await wait_until(moved_over, message="engagement's open work to follow the transfer")
