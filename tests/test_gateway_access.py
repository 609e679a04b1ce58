"""End to end through the real gateway and services: who may see what, partner keys, and the
customer 360 view with a service stopped."""

import itertools
import uuid
from typing import Any

import httpx

from crm_platform.testing import fetch, sign_in, wait_until

_serial = itertools.count(1)
PASSWORD = "Spring-river-2026"


async def _new_user(system, *roles: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A user with ``roles`` (created by the admin) and their signed-in headers."""
    n = next(_serial)
    body = {
        "username": f"e2e.{roles[0]}.{n}",
        "display_name": f"测试用户{n}",
        "email": f"e2e{n}@example.com",
        "password": PASSWORD,
        "roles": list(roles),
    }
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        created = await client.post("/api/v1/users", json=body, headers=system.admin)
    assert created.status_code == 201, created.text
    return created.json(), await sign_in(system.gateway, body["username"], PASSWORD)


async def _replica_has(system, customer_id: str) -> bool:
    rows = await fetch(
        system.database_urls["engagement"],
        "SELECT 1 FROM customer_replica WHERE id = $1",
        uuid.UUID(customer_id),
    )
    return bool(rows)


def _customer(name: str) -> dict[str, Any]:
    return {"kind": "enterprise", "name": name, "industry": "it", "allow_duplicate": True}


async def test_a_sales_rep_sees_only_own_customers_and_others_get_404(system) -> None:
    rep, rep_headers = await _new_user(system, "sales_rep")
    _, other_rep = await _new_user(system, "sales_rep")
    _, viewer = await _new_user(system, "viewer")
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        created = await client.post(
            "/api/v1/customers", json=_customer("杭州端到端甲科技有限公司"), headers=rep_headers
        )
        assert created.status_code == 201, created.text
        customer = created.json()
        assert customer["owner_id"] == rep["id"]  # the services see the person, not the gateway
        path = f"/api/v1/customers/{customer['id']}"

        assert (await client.get(path, headers=rep_headers)).status_code == 200
        hidden = await client.get(path, headers=other_rep)
        assert hidden.status_code == 404, hidden.text
        assert (await client.get(path, headers=viewer)).status_code == 200
        own_list = (await client.get("/api/v1/customers", headers=other_rep)).json()
        assert customer["id"] not in {c["id"] for c in own_list["items"]}
        refused = await client.post(
            "/api/v1/customers", json=_customer("杭州端到端乙科技有限公司"), headers=viewer
        )
        assert refused.status_code == 403, refused.text
        assert (await client.get(path)).status_code == 401  # nobody signed in


async def test_a_partner_key_works_within_its_scopes_and_stops_when_revoked(system) -> None:
    owner, _ = await _new_user(system, "sales_manager")
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        issued = await client.post(
            "/api/v1/api-keys",
            json={"owner_id": owner["id"], "name": "ERP 同步", "scopes": ["customers:read"]},
            headers=system.admin,
        )
        assert issued.status_code == 201, issued.text
        key = {"x-api-key": issued.json()["key"]}
        assert (await client.get("/api/v1/customers", headers=key)).status_code == 200
        write = await client.post(
            "/api/v1/customers", json=_customer("杭州端到端丙科技有限公司"), headers=key
        )
        assert write.status_code == 403, write.text
        assert "customers:write" in write.json()["detail"]
        tickets = await client.post("/api/v1/tickets", json={}, headers=key)
        assert tickets.status_code == 403  # no tickets:write: refused before any service

        revoked = await client.post(
            f"/api/v1/api-keys/{issued.json()['id']}/revoke", headers=system.admin
        )
        assert revoked.status_code == 200, revoked.text
        assert (await client.get("/api/v1/customers", headers=key)).status_code == 401


async def test_a_disabled_user_is_refused_at_once(system) -> None:
    user, headers = await _new_user(system, "sales_rep")
    async with httpx.AsyncClient(base_url=system.gateway, timeout=10) as client:
        assert (await client.get("/api/v1/customers", headers=headers)).status_code == 200
        disabled = await client.post(f"/api/v1/users/{user['id']}/disable", headers=system.admin)
        assert disabled.status_code == 200, disabled.text
        assert (await client.get("/api/v1/customers", headers=headers)).status_code == 401


async def test_the_360_view_returns_what_it_can_when_a_service_is_stopped(system) -> None:
    async with httpx.AsyncClient(base_url=system.gateway, headers=system.admin, timeout=10) as c:
        customer = (
            await c.post("/api/v1/customers", json=_customer("杭州端到端丁科技有限公司"))
        ).json()
        await wait_until(
            lambda: _replica_has(system, customer["id"]), message="engagement's replica"
        )
        logged = await c.post(
            "/api/v1/follow-ups",
            json={
                "customer_id": customer["id"],
                "method": "phone",
                "feedback": "positive",
                "summary": "电话确认了需求范围, 客户同意下周安排现场演示",
            },
        )
        assert logged.status_code == 201, logged.text
        for name in ("年度框架协议", "二期扩容"):
            opened = await c.post(
                "/api/v1/opportunities",
                json={"customer_id": customer["id"], "name": name, "expected_amount": "90000.00"},
            )
            assert opened.status_code == 201, opened.text
        lost = opened.json()
        closed = await c.post(
            f"/api/v1/opportunities/{lost['id']}/stage",
            json={
                "to": "lost",
                "note": "客户预算取消",
                "version": lost["version"],
                "lost_reason": "budget",
            },
        )
        assert closed.status_code == 200, closed.text
        path = f"/api/v1/customers/{customer['id']}/360"
        whole = await c.get(path)
        assert whole.status_code == 200, whole.text
        view = whole.json()
        assert view["customer"]["id"] == customer["id"]
        assert isinstance(view["contacts"], list)
        assert [f["id"] for f in view["recent_follow_ups"]["items"]] == [logged.json()["id"]]
        assert [o["name"] for o in view["open_opportunities"]["items"]] == ["年度框架协议"]
        assert view["open_tickets"]["items"] == []  # the service desk has no ticket of it

        engagement = system["engagement"]
        engagement.stop()
        try:
            partial = await c.get(path)
        finally:
            await engagement.start()
    assert partial.status_code == 200, partial.text
    view = partial.json()
    assert view["customer"]["id"] == customer["id"]
    for section in ("recent_follow_ups", "open_opportunities"):
        assert view[section]["error"]["status"] == 503, view[section]
