"""Partners' API keys: shown once, stored hashed, scopes, expiry, revocation, owner disabled;
what the forwarding side gets from ``authenticated`` and ``internal_identity``."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from crm_gateway.api.deps import internal_identity
from crm_gateway.domain.principals import Principal
from crm_platform.testing import fetch

from .factories import People, create_api_key, create_user


async def me_with(people: People, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return await people.client.get("/api/v1/auth/me", headers=headers)


async def test_a_key_is_shown_once_and_stored_as_a_digest(people: People) -> None:
    owner = await create_user(people, roles=["sales_manager"])
    created = await create_api_key(people, owner, scopes=["customers:read", "tickets:write"])
    key = created["key"]
    assert key.startswith(created["prefix"] + "_") and key.startswith("crm_")
    listed = await people.client.get(
        "/api/v1/api-keys", params={"owner_id": owner.id}, headers=people.admin
    )
    assert [k["id"] for k in listed.json()["items"]] == [created["id"]]
    assert "key" not in listed.json()["items"][0]
    one = await people.client.get(f"/api/v1/api-keys/{created['id']}", headers=people.admin)
    assert "key" not in one.json()
    [row] = await fetch(
        people.settings.database_url.replace("+asyncpg", ""),
        "SELECT secret_hash FROM api_key WHERE id = $1",
        created["id"],
    )
    assert key not in row["secret_hash"] and len(row["secret_hash"]) == 64


@pytest.mark.parametrize("how", ["bearer", "x-api-key"])
async def test_a_key_acts_as_its_owner_narrowed_by_its_scopes(people: People, how: str) -> None:
    owner = await create_user(people, roles=["sales_rep"], display_name="周敏")
    created = await create_api_key(people, owner, scopes=["customers:read", "webhooks:manage"])
    headers = (
        {"authorization": f"Bearer {created['key']}"}
        if how == "bearer"
        else {"x-api-key": created["key"]}
    )
    me = await me_with(people, headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["id"], body["via"], body["api_key_id"], body["scopes"]) == (
        owner.id,
        "api_key",
        created["id"],
        ["customers:read", "webhooks:manage"],
    )


def test_internal_identity_is_the_owner_with_their_roles() -> None:
    key = Principal(
        kind="api_key",
        user_id="u-7",
        roles=frozenset({"sales_rep"}),
        name="周敏",
        scopes=frozenset({"customers:read"}),
        key_id="k-1",
    )
    assert internal_identity(key) == ("u-7", frozenset({"sales_rep"}), "周敏")
    assert key.has_scope("customers:read") and not key.has_scope("tickets:write")
    assert key.rate_limit_key == "key:k-1"


async def test_unknown_scopes_are_refused(people: People) -> None:
    owner = await create_user(people)
    response = await people.client.post(
        "/api/v1/api-keys",
        json={"owner_id": owner.id, "name": "x", "scopes": ["customers:delete"]},
        headers=people.admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.scopes.0"


async def test_a_revoked_key_stops_working_at_once(people: People) -> None:
    created = await create_api_key(people)
    headers = {"x-api-key": created["key"]}
    assert (await me_with(people, headers)).status_code == 200
    revoked = await people.client.post(
        f"/api/v1/api-keys/{created['id']}/revoke", headers=people.admin
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = await me_with(people, headers)
    assert refused.status_code == 401 and refused.json()["detail"].endswith("revoked.")
    again = await people.client.post(
        f"/api/v1/api-keys/{created['id']}/revoke", headers=people.admin
    )
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_an_expired_key_stops_working(people: People) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    created = await create_api_key(people, expires_at=soon)
    headers = {"x-api-key": created["key"]}
    assert (await me_with(people, headers)).status_code == 200
    await asyncio.sleep(1.2)
    refused = await me_with(people, headers)
    assert refused.status_code == 401 and refused.json()["detail"].endswith("expired.")
    past = await people.client.post(
        "/api/v1/api-keys",
        json={
            "owner_id": created["owner_id"],
            "name": "x",
            "scopes": ["meta:read"],
            "expires_at": "2020-01-01T00:00:00+08:00",
        },
        headers=people.admin,
    )
    assert past.status_code == 422


async def test_a_key_of_a_disabled_owner_stops_working_at_once(people: People) -> None:
    owner = await create_user(people, roles=["sales_manager"])
    created = await create_api_key(people, owner)
    headers = {"x-api-key": created["key"]}
    assert (await me_with(people, headers)).status_code == 200
    await people.client.post(f"/api/v1/users/{owner.id}/disable", headers=people.admin)
    assert (await me_with(people, headers)).status_code == 401
    await people.client.post(f"/api/v1/users/{owner.id}/enable", headers=people.admin)
    assert (await me_with(people, headers)).status_code == 200


async def test_a_tampered_key_is_refused(people: People) -> None:
    created = await create_api_key(people)
    forged = created["key"][:-2] + ("AA" if not created["key"].endswith("AA") else "BB")
    assert (await me_with(people, {"x-api-key": forged})).status_code == 401


async def test_a_key_cannot_change_its_owners_password(people: People) -> None:
    created = await create_api_key(people)
    response = await people.client.post(
        "/api/v1/auth/password",
        json={"current_password": "whatever-it-is", "new_password": "Something-new-2026"},
        headers={"x-api-key": created["key"]},
    )
    assert response.status_code == 403
