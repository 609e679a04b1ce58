"""The gateway on SQLite, the embedded default: its migrations run from nothing, and the
people API works there as on PostgreSQL (times read back aware, the audit id counts up)."""

import asyncio
from pathlib import Path

from crm_gateway.__main__ import MIGRATIONS_DIR
from crm_platform.migrations import upgrade

from .factories import bearer, create_api_key, create_user, login, start_people


async def test_people_on_sqlite(tmp_path: Path, amqp_url: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    async with start_people(url, amqp_url) as people:
        person = await create_user(people, username="Sun.Li")
        tokens = await login(people.client, "sun.li", person.password)
        rotated = await people.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert rotated.status_code == 200, rotated.text
        reused = await people.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert reused.status_code == 401
        me = await people.client.get(
            "/api/v1/auth/me", headers=bearer(rotated.json()["access_token"])
        )
        assert me.status_code == 401  # the family went with the reuse
        key = await create_api_key(people)
        assert (
            await people.client.get("/api/v1/auth/me", headers={"x-api-key": key["key"]})
        ).status_code == 200
        await people.client.post(f"/api/v1/users/{person.id}/disable", headers=people.admin)
        audit = (await people.client.get("/api/v1/audit", headers=people.admin)).json()["items"]
        assert [e["action"] for e in audit[:3]] == [
            "user_disabled",
            "api_key_created",
            "user_created",
        ]
        assert all(e["at"].endswith(("Z", "+00:00")) for e in audit)
        assert [e["id"] for e in audit] == sorted((e["id"] for e in audit), reverse=True)
        user = (await people.client.get(f"/api/v1/users/{person.id}", headers=people.admin)).json()
        assert user["updated_at"].endswith(("Z", "+00:00")) and user["version"] == 2
