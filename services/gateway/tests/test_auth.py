"""Signing in: login, refresh rotation and reuse, logout, own password, disabled users,
timing equivalence, throttling; against the real database and broker."""

import asyncio

import pytest

from .factories import (
    ADMIN_USERNAME,
    People,
    bearer,
    create_user,
    login,
    signed_in,
    start_people,
)


def assert_unauthorized(response) -> dict:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    return response.json()


async def test_login_gives_tokens_and_me_answers_who_i_am(people: People) -> None:
    person, tokens = await signed_in(people, roles=["sales_rep", "viewer"])
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["user"]["username"] == person.username
    me = await people.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["id"], body["via"], body["roles"]) == (
        person.id,
        "user",
        ["sales_rep", "viewer"],
    )
    assert body["session_id"] == tokens["session_id"]


async def test_usernames_are_case_insensitive_at_login(people: People) -> None:
    person = await create_user(people, username="Wang.Xiaoming")
    tokens = await login(people.client, "wang.xiaoming", person.password)
    assert tokens["user"]["id"] == person.id


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer"},
        {"authorization": "Basic dTpw"},
        {"authorization": "Bearer not-a-jwt"},
        {"x-api-key": "crm_nope"},
        {"authorization": "Bearer crm_0123456789ab_not-a-real-key"},
    ],
    ids=["missing", "empty bearer", "basic", "garbage", "garbled key", "unknown key"],
)
async def test_requests_without_valid_credentials_are_401_problems(people, headers) -> None:
    assert_unauthorized(await people.client.get("/api/v1/auth/me", headers=headers))


async def test_wrong_password_and_unknown_user_get_the_same_answer(people: People) -> None:
    person = await create_user(people)
    wrong = await people.client.post(
        "/api/v1/auth/login", json={"username": person.username, "password": "not-the-password"}
    )
    unknown = await people.client.post(
        "/api/v1/auth/login", json={"username": "nobody.here", "password": "not-the-password"}
    )
    assert assert_unauthorized(wrong)["detail"] == assert_unauthorized(unknown)["detail"]


async def test_an_unknown_user_costs_one_argon2_verification_like_a_known_one(
    people: People,
) -> None:
    """Timing equivalence at the level of work done: both paths verify one hash."""
    person = await create_user(people)
    passwords = people.app.state.passwords
    original = passwords.hasher
    calls: list[str] = []

    class CountingHasher:
        def verify(self, stored_hash, password):  # type: ignore[no-untyped-def]
            calls.append(stored_hash)
            return original.verify(stored_hash, password)

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(original, name)

    passwords.hasher = CountingHasher()
    try:
        for username in ("nobody.at.all", person.username):
            calls.clear()
            await people.client.post(
                "/api/v1/auth/login", json={"username": username, "password": "Wrong-password-1"}
            )
            assert len(calls) == 1, username
        assert calls != [passwords.dummy_hash]  # the known user's own hash
    finally:
        passwords.hasher = original
    # The unknown user's verification ran against a dummy hash of the same parameters.
    assert not passwords.needs_rehash(passwords.dummy_hash)


async def test_refresh_rotates_and_a_spent_token_revokes_the_whole_family(people: People) -> None:
    _, first = await signed_in(people)
    rotated = await people.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]
    assert (
        await people.client.get("/api/v1/auth/me", headers=bearer(second["access_token"]))
    ).is_success

    # The first refresh token again: someone kept a copy. The family ends for everyone.
    reused = await people.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert assert_unauthorized(reused)["type"].endswith("refresh-reused")
    for token in (first["access_token"], second["access_token"]):
        assert_unauthorized(await people.client.get("/api/v1/auth/me", headers=bearer(token)))
    assert_unauthorized(
        await people.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
    )
    audit = await people.client.get(
        "/api/v1/audit", params={"action": "refresh_reuse_detected"}, headers=people.admin
    )
    assert [e["target"] for e in audit.json()["items"]] == [f"session:{first['session_id']}"]


async def test_reuse_revokes_only_that_family(people: People) -> None:
    person, laptop = await signed_in(people)
    phone = await login(people.client, person.username, person.password)
    await people.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]}
    )
    await people.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]}
    )
    assert (
        await people.client.get("/api/v1/auth/me", headers=bearer(phone["access_token"]))
    ).is_success


async def test_an_unknown_refresh_token_is_refused(people: People) -> None:
    assert_unauthorized(
        await people.client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    )


async def test_logout_ends_the_session_and_its_tokens(people: People) -> None:
    person, tokens = await signed_in(people)
    other = await login(people.client, person.username, person.password)
    out = await people.client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 204, out.text
    assert_unauthorized(
        await people.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    )
    assert_unauthorized(
        await people.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
    )
    # Another sign-in of the same person goes on.
    assert (
        await people.client.get("/api/v1/auth/me", headers=bearer(other["access_token"]))
    ).is_success


async def test_logout_everywhere_ends_every_session_of_the_person_only(people: People) -> None:
    person, here = await signed_in(people)
    elsewhere = await login(people.client, person.username, person.password)
    _, someone_else = await signed_in(people)
    out = await people.client.post("/api/v1/auth/logout-all", headers=bearer(here["access_token"]))
    assert out.status_code == 204, out.text
    for tokens in (here, elsewhere):
        assert_unauthorized(
            await people.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        )
        assert_unauthorized(
            await people.client.post(
                "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
        )
    assert (
        await people.client.get("/api/v1/auth/me", headers=bearer(someone_else["access_token"]))
    ).is_success


async def test_logout_with_only_the_refresh_token(people: People) -> None:
    _, tokens = await signed_in(people)
    out = await people.client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
    )
    assert out.status_code == 204, out.text
    assert_unauthorized(
        await people.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    )


async def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(
    people: People,
) -> None:
    person, here = await signed_in(people)
    elsewhere = await login(people.client, person.username, person.password)
    headers = bearer(here["access_token"])
    wrong = await people.client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": "Autumn-leaves-2026"},
        headers=headers,
    )
    assert_unauthorized(wrong)
    weak = await people.client.post(
        "/api/v1/auth/password",
        json={"current_password": person.password, "new_password": "short"},
        headers=headers,
    )
    assert weak.status_code == 422, weak.text
    assert weak.json()["errors"][0]["field"] == "body.new_password"
    changed = await people.client.post(
        "/api/v1/auth/password",
        json={"current_password": person.password, "new_password": "Autumn-leaves-2026"},
        headers=headers,
    )
    assert changed.status_code == 204, changed.text
    assert (await people.client.get("/api/v1/auth/me", headers=headers)).is_success
    assert_unauthorized(
        await people.client.get("/api/v1/auth/me", headers=bearer(elsewhere["access_token"]))
    )
    await login(people.client, person.username, "Autumn-leaves-2026")
    old = await people.client.post(
        "/api/v1/auth/login", json={"username": person.username, "password": person.password}
    )
    assert_unauthorized(old)


async def test_a_disabled_user_is_refused_at_once(people: People) -> None:
    person, tokens = await signed_in(people)
    headers = bearer(tokens["access_token"])
    assert (await people.client.get("/api/v1/auth/me", headers=headers)).is_success
    disabled = await people.client.post(f"/api/v1/users/{person.id}/disable", headers=people.admin)
    assert disabled.status_code == 200, disabled.text
    # The access token issued before is refused on the very next request, as is refreshing.
    assert_unauthorized(await people.client.get("/api/v1/auth/me", headers=headers))
    assert_unauthorized(
        await people.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
    )
    assert_unauthorized(
        await people.client.post(
            "/api/v1/auth/login", json={"username": person.username, "password": person.password}
        )
    )
    # Enabled again: they sign in anew; the old session stays ended.
    await people.client.post(f"/api/v1/users/{person.id}/enable", headers=people.admin)
    assert_unauthorized(await people.client.get("/api/v1/auth/me", headers=headers))
    await login(people.client, person.username, person.password)


async def test_role_changes_apply_to_tokens_already_issued(people: People) -> None:
    person, tokens = await signed_in(people, roles=["viewer"])
    await people.client.put(
        f"/api/v1/users/{person.id}/roles", json={"roles": ["sales_manager"]}, headers=people.admin
    )
    me = await people.client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.json()["roles"] == ["sales_manager"]


async def test_failed_logins_are_throttled_per_username_with_retry_after(people: People) -> None:
    person = await create_user(people)
    wrong = {"username": person.username, "password": "Wrong-password-1"}
    for _ in range(5):
        assert_unauthorized(await people.client.post("/api/v1/auth/login", json=wrong))
    throttled = await people.client.post(
        "/api/v1/auth/login", json={"username": person.username, "password": person.password}
    )
    assert throttled.status_code == 429, throttled.text
    assert throttled.headers["content-type"] == "application/problem+json"
    assert 1 <= int(throttled.headers["retry-after"]) <= 15 * 60
    # Another username from the same address is not throttled yet (20 per address).
    await login(people.client, ADMIN_USERNAME, people.settings.admin_password)


async def test_throttling_ends_when_the_window_passes(database_factory, amqp_url) -> None:
    from crm_gateway.__main__ import MIGRATIONS_DIR

    url = await database_factory("gateway_throttle", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url, login_failure_window_seconds=2) as people:
        person = await create_user(people)
        for _ in range(5):
            await people.client.post(
                "/api/v1/auth/login",
                json={"username": person.username, "password": "Wrong-password-1"},
            )
        body = {"username": person.username, "password": person.password}
        assert (await people.client.post("/api/v1/auth/login", json=body)).status_code == 429
        await asyncio.sleep(2.1)
        assert (await people.client.post("/api/v1/auth/login", json=body)).status_code == 200


async def test_failed_logins_from_one_address_are_throttled(database_factory, amqp_url) -> None:
    from crm_gateway.__main__ import MIGRATIONS_DIR

    url = await database_factory("gateway_throttle_ip", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url, login_max_failures_per_ip=3) as people:
        for n in range(3):
            await people.client.post(
                "/api/v1/auth/login",
                json={"username": f"guess.{n}", "password": "Wrong-password-1"},
            )
        refused = await people.client.post(
            "/api/v1/auth/login", json={"username": "guess.9", "password": "Wrong-password-1"}
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1


async def test_a_hash_made_with_older_parameters_is_rehashed_at_login(
    database_factory, amqp_url
) -> None:
    from crm_gateway.__main__ import MIGRATIONS_DIR
    from crm_platform.testing import fetch

    url = await database_factory("gateway_rehash", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url) as people:
        person = await create_user(people)
    query = "SELECT password_hash FROM app_user WHERE id = $1"
    [before] = await fetch(url, query, person.id)
    assert "t=1," in before["password_hash"]
    async with start_people(url, amqp_url, password_hash_time_cost=2) as people:
        await login(people.client, person.username, person.password)
    [after] = await fetch(url, query, person.id)
    assert "t=2," in after["password_hash"]
    async with start_people(url, amqp_url, password_hash_time_cost=2) as people:
        await login(people.client, person.username, person.password)
