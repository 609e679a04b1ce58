"""The audit trail: what writes entries, the admin's filters and cursor, and unmasked reads
reported by the customers service (``customer.sensitive_read``) recorded once."""

import uuid
from datetime import UTC, datetime, timedelta

from crm_platform.events import CloudEvent
from crm_platform.testing import event_publisher, events_consumed, wait_until

from .factories import People, create_api_key, create_user, login


async def entries(people: People, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    response = await people.client.get("/api/v1/audit", params=params, headers=people.admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_sign_ins_and_admin_actions_are_audited(people: People) -> None:
    person = await create_user(people)
    await people.client.post(
        "/api/v1/auth/login", json={"username": person.username, "password": "Wrong-password-1"}
    )
    await login(people.client, person.username, person.password)
    await people.client.post(f"/api/v1/users/{person.id}/disable", headers=people.admin)
    await people.client.post(f"/api/v1/users/{person.id}/enable", headers=people.admin)
    key = await create_api_key(people)
    await people.client.post(f"/api/v1/api-keys/{key['id']}/revoke", headers=people.admin)

    mine = await entries(people, actor=person.id)
    assert [e["action"] for e in mine] == ["login", "login_failed"]
    assert mine[1]["details"] == {"reason": "bad_password"}
    assert all(e["ip"] for e in mine)
    about = await entries(people, target=f"user:{person.id}")
    assert [e["action"] for e in about] == ["user_enabled", "user_disabled", "user_created"]
    admin_id = about[0]["actor_id"]
    assert admin_id and all(e["actor_id"] == admin_id for e in about)
    assert [e["action"] for e in await entries(people, target=f"api_key:{key['id']}")] == [
        "api_key_revoked",
        "api_key_created",
    ]
    unknown = await entries(people, action="login_failed")
    assert unknown[0]["at"].endswith(("Z", "+00:00"))


async def test_filters_by_time_and_pages_with_a_cursor(people: People) -> None:
    for _ in range(5):
        await people.client.post(
            "/api/v1/auth/login", json={"username": "nobody.x", "password": "Wrong-password-1"}
        )
    now = datetime.now(UTC)
    later = await entries(people, action="login_failed", **{"from": now.isoformat()})
    assert later == []
    earlier = await entries(
        people, action="login_failed", to=(now + timedelta(seconds=1)).isoformat()
    )
    assert len(earlier) == 5
    seen, cursor = [], None
    while True:
        params = {"action": "login_failed", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await people.client.get("/api/v1/audit", params=params, headers=people.admin)
        ).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 5
    bad = await people.client.get("/api/v1/audit", params={"cursor": "x1"}, headers=people.admin)
    assert bad.status_code == 400
    wrong_action = await people.client.get(
        "/api/v1/audit", params={"action": "dance"}, headers=people.admin
    )
    assert wrong_action.status_code == 422


async def test_a_sensitive_read_is_audited_once_even_when_delivered_twice(people: People) -> None:
    customer_id = str(uuid.uuid4())
    event = CloudEvent.new(
        service="customers",
        routing_key="customer.sensitive_read",
        subject=customer_id,
        data={
            "customer_id": customer_id,
            "fields": ["id_number"],
            "reader_id": "u-auditor",
            "reader_roles": ["admin"],
        },
        actor="u-auditor",
    )
    before = await events_consumed(people.client, "customer.sensitive_read", "duplicate")
    async with event_publisher(
        people.settings.amqp_url, people.settings.events_exchange
    ) as publish:
        await publish(event)
        await publish(event)

    async def both_handled() -> bool:
        duplicate = await events_consumed(people.client, "customer.sensitive_read", "duplicate")
        return duplicate > before

    await wait_until(both_handled, timeout=10)
    found = await entries(people, target=f"customer:{customer_id}")
    assert len(found) == 1
    [entry] = found
    assert (entry["action"], entry["actor_id"]) == ("sensitive_read", "u-auditor")
    assert entry["details"]["fields"] == ["id_number"]
    assert entry["details"]["event_id"] == str(event.id)
    assert datetime.fromisoformat(entry["at"]) == event.time
    assert [e["id"] for e in await entries(people, action="sensitive_read")] == [entry["id"]]
