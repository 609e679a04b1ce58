"""The admin's user API: create, list, read, edit with versions, disable/enable, roles,
password reset; refused for every other role and for API keys; events in the outbox."""

import json

import pytest

from crm_gateway.domain.roles import ROLES
from crm_platform.testing import fetch

from .factories import People, bearer, create_api_key, create_user, login, signed_in, user_body


async def outbox(people: People, routing_key: str) -> list[dict]:
    rows = await fetch(
        people.settings.database_url.replace("+asyncpg", ""),
        "SELECT body FROM outbox_message WHERE routing_key = $1 ORDER BY created_at",
        routing_key,
    )
    return [json.loads(row["body"]) for row in rows]


async def test_create_user_answers_the_user_and_stages_user_created(people: People) -> None:
    body = user_body(roles=["sales_manager", "sales_rep"], team="华南销售部")
    response = await people.client.post("/api/v1/users", json=body, headers=people.admin)
    assert response.status_code == 201, response.text
    user = response.json()
    assert response.headers["location"] == f"/api/v1/users/{user['id']}"
    assert "password" not in json.dumps(user)
    assert (user["roles"], user["active"], user["version"]) == (
        ["sales_manager", "sales_rep"],
        True,
        1,
    )
    assert user["created_at"].endswith(("Z", "+00:00"))
    [event] = [e for e in await outbox(people, "user.created") if e["subject"] == user["id"]]
    assert event["type"] == "crm.user.created"
    assert event["source"] == "/crm/gateway"
    assert event["data"] == {
        "id": user["id"],
        "username": body["username"],
        "display_name": body["display_name"],
        "email": body["email"],
        "mobile": body["mobile"],
        "roles": ["sales_manager", "sales_rep"],
        "team": "华南销售部",
        "manager_id": None,
        "active": True,
        "version": 1,
    }


async def test_usernames_are_unique_regardless_of_case(people: People) -> None:
    await create_user(people, username="Zhao.Lei")
    again = await people.client.post(
        "/api/v1/users", json=user_body(username="zhao.lei"), headers=people.admin
    )
    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("username-taken")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password": "short"}, "body.password"),
        ({"password": "1234567890"}, "body.password"),
        ({"roles": []}, "body.roles"),
        ({"roles": ["root"]}, "body.roles.0"),
        ({"username": "x"}, "body.username"),
        ({"email": "not-an-email"}, "body.email"),
        ({"manager_id": "no-such-user"}, "body.manager_id"),
    ],
)
async def test_invalid_users_are_422_naming_the_field(people: People, changes, field) -> None:
    response = await people.client.post(
        "/api/v1/users", json=user_body(**changes), headers=people.admin
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_the_password_may_not_be_the_username(people: People) -> None:
    body = user_body(username="chen.jingjing", password="Chen.JingJing")
    response = await people.client.post("/api/v1/users", json=body, headers=people.admin)
    assert response.status_code == 422
    assert "username" in response.json()["errors"][0]["message"]


async def test_create_is_idempotent_with_a_key(people: People) -> None:
    body = user_body()
    headers = {**people.admin, "idempotency-key": "create-user-1"}
    first = await people.client.post("/api/v1/users", json=body, headers=headers)
    second = await people.client.post("/api/v1/users", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["idempotent-replay"] == "true"
    assert first.json()["id"] == second.json()["id"]


async def test_edit_needs_the_version_and_a_stale_one_is_409(people: People) -> None:
    manager = await create_user(people, roles=["sales_manager"])
    person = await create_user(people)
    url = f"/api/v1/users/{person.id}"
    missing = await people.client.patch(url, json={"team": "西南销售部"}, headers=people.admin)
    assert missing.status_code == 428
    edited = await people.client.patch(
        url,
        json={"team": "西南销售部", "manager_id": manager.id, "mobile": None, "version": 1},
        headers=people.admin,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["team"], edited.json()["manager_id"], edited.json()["mobile"]) == (
        "西南销售部",
        manager.id,
        None,
    )
    assert edited.json()["version"] == 2 and edited.headers["etag"] == '"2"'
    stale = await people.client.patch(
        url, json={"display_name": "刘洋"}, headers={**people.admin, "if-match": '"1"'}
    )
    assert stale.status_code == 409 and stale.json()["type"].endswith("stale-version")
    nulled = await people.client.patch(
        url, json={"display_name": None, "version": 2}, headers=people.admin
    )
    assert nulled.status_code == 422
    [event] = [e for e in await outbox(people, "user.updated") if e["subject"] == person.id]
    assert event["data"]["team"] == "西南销售部" and event["data"]["version"] == 2
    team = await people.client.get(
        "/api/v1/users", params={"manager_id": manager.id}, headers=people.admin
    )
    assert [u["id"] for u in team.json()["items"]] == [person.id]


async def test_disable_and_enable_stage_their_events(people: People) -> None:
    person = await create_user(people)
    disabled = await people.client.post(f"/api/v1/users/{person.id}/disable", headers=people.admin)
    assert disabled.json()["active"] is False
    [event] = [e for e in await outbox(people, "user.disabled") if e["subject"] == person.id]
    assert event["data"]["active"] is False
    enabled = await people.client.post(
        f"/api/v1/users/{person.id}/enable", json={"version": 2}, headers=people.admin
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["active"] is True


async def test_an_admin_cannot_disable_themself_or_drop_their_own_admin_role(
    people: People,
) -> None:
    me = (await people.client.get("/api/v1/auth/me", headers=people.admin)).json()
    assert (
        await people.client.post(f"/api/v1/users/{me['id']}/disable", headers=people.admin)
    ).status_code == 409
    dropped = await people.client.put(
        f"/api/v1/users/{me['id']}/roles", json={"roles": ["viewer"]}, headers=people.admin
    )
    assert dropped.status_code == 409


async def test_reset_password_ends_the_users_sessions(people: People) -> None:
    person, tokens = await signed_in(people)
    reset = await people.client.post(
        f"/api/v1/users/{person.id}/password",
        json={"new_password": "Winter-plum-blossom-7"},
        headers=people.admin,
    )
    assert reset.status_code == 204, reset.text
    me = await people.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    await login(people.client, person.username, "Winter-plum-blossom-7")


async def test_list_pages_with_a_cursor_and_filters(people: People) -> None:
    made = [await create_user(people, roles=["service_agent"], team="客服二组") for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"team": "客服二组", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await people.client.get("/api/v1/users", params=params, headers=people.admin)
        ).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(p.id for p in made)
    agents = await people.client.get(
        "/api/v1/users", params={"role": "service_agent", "team": "客服二组"}, headers=people.admin
    )
    assert len(agents.json()["items"]) == 5


async def test_unknown_user_is_404(people: People) -> None:
    response = await people.client.get("/api/v1/users/no-such-id", headers=people.admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


ADMIN_ROUTES = [
    ("POST", "/api/v1/users", {"json": user_body()}),
    ("GET", "/api/v1/users", {}),
    ("GET", "/api/v1/users/{id}", {}),
    ("PATCH", "/api/v1/users/{id}", {"json": {"team": "x", "version": 1}}),
    ("POST", "/api/v1/users/{id}/disable", {}),
    ("POST", "/api/v1/users/{id}/enable", {}),
    ("PUT", "/api/v1/users/{id}/roles", {"json": {"roles": ["viewer"]}}),
    ("POST", "/api/v1/users/{id}/password", {"json": {"new_password": "Autumn-moon-2026"}}),
    (
        "POST",
        "/api/v1/api-keys",
        {"json": {"owner_id": "{id}", "name": "x", "scopes": ["meta:read"]}},
    ),
    ("GET", "/api/v1/api-keys", {}),
    ("GET", "/api/v1/audit", {}),
]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
async def test_admin_endpoints_are_refused_for_every_other_role(people: People, role) -> None:
    target = await create_user(people)
    _, tokens = await signed_in(people, roles=[role])
    headers = bearer(tokens["access_token"])
    for method, path, kwargs in ADMIN_ROUTES:
        if "json" in kwargs and isinstance(kwargs["json"], dict):
            kwargs = {
                "json": {
                    k: (v.format(id=target.id) if isinstance(v, str) else v)
                    for k, v in kwargs["json"].items()
                }
            }
        response = await people.client.request(
            method, path.format(id=target.id), headers=headers, **kwargs
        )
        assert response.status_code == 403, (role, method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = await people.client.get("/api/v1/users")
    assert anonymous.status_code == 401


async def test_an_admins_api_key_cannot_administer(people: People) -> None:
    admin_user = await create_user(people, roles=["admin"])
    key = await create_api_key(people, owner=admin_user, scopes=["customers:read"])
    response = await people.client.get("/api/v1/users", headers={"x-api-key": key["key"]})
    assert response.status_code == 403


async def test_every_colleague_reads_the_directory_of_names_without_contact_details(
    people: People,
) -> None:
    rep, rep_tokens = await signed_in(people, roles=["sales_rep"])
    supervisor = await create_user(people, roles=["service_supervisor"], team="客服一组")
    gone = await create_user(people, roles=["service_agent"])
    disabled = await people.client.post(
        f"/api/v1/users/{gone.id}/disable", json={"version": 1}, headers=people.admin
    )
    assert disabled.status_code == 200, disabled.text
    as_rep = bearer(rep_tokens["access_token"])
    listed = await people.client.get("/api/v1/people", headers=as_rep)
    assert listed.status_code == 200, listed.text
    by_id = {p["id"]: p for p in listed.json()["items"]}
    assert by_id[supervisor.id] == {
        "id": supervisor.id,
        "username": supervisor.username,
        "display_name": supervisor.user["display_name"],
        "roles": ["service_supervisor"],
        "team": "客服一组",
        "active": True,
    }
    assert rep.id in by_id and gone.id not in by_id
    everyone = await people.client.get(
        "/api/v1/people", params={"include_inactive": "true"}, headers=as_rep
    )
    assert gone.id in {p["id"] for p in everyone.json()["items"]}
    supervisors = await people.client.get(
        "/api/v1/people", params={"role": "service_supervisor"}, headers=as_rep
    )
    assert {p["id"] for p in supervisors.json()["items"]} == {supervisor.id}
    assert (await people.client.get("/api/v1/people")).status_code == 401
    # The admin's user API stays the admin's.
    assert (await people.client.get("/api/v1/users", headers=as_rep)).status_code == 403
