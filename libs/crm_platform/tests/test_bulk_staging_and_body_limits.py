"""Staging events (many at once, and inside savepoints), and a larger body limit for one
upload path while every other path keeps the default."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events import CloudEvent
from crm_platform.events.outbox import add_event, add_events
from crm_platform.http.app import create_service_app
from crm_platform.identity import mint_internal_token
from crm_platform.settings import PlatformSettings
from crm_platform.testing import wait_until


def _events(count: int, note: str) -> list[CloudEvent]:
    return [
        CloudEvent.new(
            service="probe",
            routing_key="thing.happened",
            subject=str(n),
            data={"note": f"{note}-{n}"},
        )
        for n in range(count)
    ]


async def test_bulk_staged_events_are_published_only_if_committed(bus) -> None:
    class Undo(Exception):
        pass

    kept = _events(3, "kept")
    async with bus.observer("thing.happened") as seen:
        async with bus.sessionmaker() as session, session.begin():
            add_events(session, kept)
        with contextlib.suppress(Undo):
            async with bus.sessionmaker() as session, session.begin():
                add_events(session, _events(2, "undone"))
                raise Undo
        bus.start_relay()
        await wait_until(lambda: asyncio.sleep(0, result=len(seen) >= 3), message="3 events")
        await asyncio.sleep(0.5)
    assert sorted(e.data["note"] for e in seen) == ["kept-0", "kept-1", "kept-2"]
    assert len(await bus.outbox()) == 3


router = APIRouter()


@router.post("/v1/uploads")
@router.post("/v1/other")
async def size(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@pytest.fixture
async def client(amqp_url: str, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlatformSettings(
        service_name="probe",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/probe.db",
        amqp_url=amqp_url,
        max_body_bytes=2048,
        relay_enabled=False,
    )
    app = create_service_app(
        settings, title="probe", routers=[router], body_limits={"/v1/uploads": 10_000}
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            client.headers["authorization"] = "Bearer " + mint_internal_token(
                settings.internal_token_secret, subject="u1", roles=["admin"]
            )
            yield client


async def test_a_path_may_have_its_own_body_limit(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/uploads", content=b"x" * 9_000)).json() == {"bytes": 9_000}
    assert (await client.post("/v1/uploads", content=b"x" * 10_001)).status_code == 413
    too_big = await client.post("/v1/other", content=b"x" * 2049)
    assert too_big.status_code == 413
    assert "2048 bytes" in too_big.json()["detail"]


async def test_events_staged_in_a_rolled_back_savepoint_are_dropped_and_the_rest_kept(bus) -> None:
    """add_event writes its row at commit; a savepoint must still undo what was staged in it,
    including what a savepoint nested in it staged and released."""

    class Undo(Exception):
        pass

    def stage(session: AsyncSession, note: str) -> None:
        add_event(session, _events(1, note)[0])

    async with bus.sessionmaker() as session:
        async with session.begin():
            stage(session, "before")
            with contextlib.suppress(Undo):
                async with session.begin_nested():
                    stage(session, "rolled-back")
                    raise Undo
            async with session.begin_nested():
                stage(session, "released")
            stage(session, "between")
            with contextlib.suppress(Undo):
                async with session.begin_nested():
                    stage(session, "outer-rolled-back")
                    async with session.begin_nested():
                        stage(session, "inner-released-then-outer-rolled-back")
                    raise Undo
            stage(session, "after")
        with contextlib.suppress(Undo):
            async with session.begin():
                stage(session, "whole-transaction-undone")
                raise Undo
        async with session.begin():
            pass  # nothing staged is left over from the rolled-back transaction

    kept = sorted(json.loads(row.body)["data"]["note"] for row in await bus.outbox())
    assert kept == ["after-0", "before-0", "between-0", "released-0"]
