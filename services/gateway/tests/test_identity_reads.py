"""What each gateway process remembers of users, sessions and keys, and how it forgets: two
gateway processes on one PostgreSQL database, a change made through one refused by the other
once the database's notification arrives; and the rules of remembering, on a fake database."""

import asyncio
import time
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from crm_gateway.__main__ import MIGRATIONS_DIR
from crm_gateway.db.identity_reads import RememberedIdentityReads

from .factories import bearer, create_api_key, signed_in, start_people

NOTIFICATION_DEADLINE_SECONDS = 2.0


async def _refused_within(client, headers: dict[str, str], deadline: float) -> float:
    """Seconds until ``headers`` are refused (401) at ``client``; fails past ``deadline``."""
    started = time.monotonic()
    while (await client.get("/api/v1/auth/me", headers=headers)).status_code != 401:
        assert time.monotonic() - started < deadline, "still accepted"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def _listening(people) -> None:
    reads = people.app.state.identity_reads
    for _ in range(200):
        if reads.listening:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the gateway never listened for identity changes")


async def test_a_user_disabled_through_one_gateway_is_refused_by_another(
    database_factory, amqp_url: str
) -> None:
    url = await database_factory("gateway_two_processes", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url) as first, start_people(url, amqp_url) as second:
        await _listening(second)
        person, tokens = await signed_in(first)
        headers = bearer(tokens["access_token"])
        assert (await second.client.get("/api/v1/auth/me", headers=headers)).status_code == 200
        assert second.app.state.identity_reads.remembers(person.id)  # read once, remembered

        disabled = await first.client.post(
            f"/api/v1/users/{person.id}/disable", headers=first.admin
        )
        assert disabled.status_code == 200, disabled.text
        # The process that disabled: at once. The other: as soon as the notification arrives.
        assert (await first.client.get("/api/v1/auth/me", headers=headers)).status_code == 401
        waited = await _refused_within(second.client, headers, NOTIFICATION_DEADLINE_SECONDS)
        print(f"refused by the other gateway after {waited * 1000:.1f} ms")

        key = await create_api_key(first)
        key_headers = {"x-api-key": key["key"]}
        assert (await second.client.get("/api/v1/auth/me", headers=key_headers)).status_code == 200
        revoked = await first.client.post(
            f"/api/v1/api-keys/{key['id']}/revoke", headers=first.admin
        )
        assert revoked.status_code == 200
        await _refused_within(second.client, key_headers, NOTIFICATION_DEADLINE_SECONDS)


class FakeReads(RememberedIdentityReads):
    """The remembering rules over a database that answers what the test says, when told."""

    def __init__(self) -> None:
        super().__init__(create_async_engine("sqlite+aiosqlite://"), max_age_seconds=60)
        self.answer: Any = "state-1"
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def _read(self) -> Any:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.answer

    async def signed_in_state(self, user_id: str, session_id: str) -> Any:
        return await self._remembered(
            ("session", user_id, session_id), self._read, lambda _: user_id
        )


async def test_remembered_only_while_listening_and_until_told() -> None:
    reads = FakeReads()
    await reads.signed_in_state("u1", "s1")
    await reads.signed_in_state("u1", "s1")
    assert reads.reads == 2  # not listening: every request reads

    reads.listening = True
    await reads.signed_in_state("u1", "s1")
    await reads.signed_in_state("u1", "s1")
    assert reads.reads == 3  # listening: remembered

    reads.answer = "state-2"
    reads.on_notification("someone-else")
    assert await reads.signed_in_state("u1", "s1") == "state-1"
    reads.on_notification("u1")
    assert await reads.signed_in_state("u1", "s1") == "state-2"
    reads.on_notification("*")
    assert not reads.remembers("u1")


async def test_a_read_under_way_when_told_of_a_change_is_not_remembered() -> None:
    """The user is disabled while a request reads their (still active) state: that answer
    serves the request under way but is not kept for the next."""
    reads = FakeReads()
    reads.listening = True
    reads.gate = asyncio.Event()
    under_way = asyncio.create_task(reads.signed_in_state("u1", "s1"))
    await asyncio.sleep(0)
    reads.on_notification("u1")  # the disable commits meanwhile
    reads.gate.set()
    assert await under_way == "state-1"
    assert not reads.remembers("u1")


async def test_nothing_is_remembered_longer_than_its_age_limit() -> None:
    reads = FakeReads()
    reads.listening = True
    reads.max_age_seconds = 0.05
    await reads.signed_in_state("u1", "s1")
    await asyncio.sleep(0.06)
    await reads.signed_in_state("u1", "s1")
    assert reads.reads == 2
