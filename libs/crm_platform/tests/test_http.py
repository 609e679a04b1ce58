"""The HTTP edge every service shares: problem+json, token refusal, metrics, health."""

from collections.abc import AsyncIterator
from enum import StrEnum

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from crm_platform.http.app import create_service_app
from crm_platform.http.dependencies import SessionDep
from crm_platform.identity import mint_internal_token
from crm_platform.settings import PlatformSettings
from crm_platform.testing_faults import TcpProxy, through_proxy


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Paint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    colour: Colour
    litres: int


router = APIRouter(prefix="/v1/paints")


@router.post("/{paint_id}")
async def mix(paint_id: int, body: Paint) -> dict[str, object]:
    return {"id": paint_id, "colour": body.colour, "litres": body.litres}


@pytest.fixture
async def client(amqp_url: str, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlatformSettings(
        service_name="probe",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/probe.db",
        amqp_url=amqp_url,
        max_body_bytes=2048,
        relay_enabled=False,
    )
    app = create_service_app(settings, title="probe", routers=[router])
    async with app.router.lifespan_context(app):
        await app.state.runtime.wait_topology()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            client.headers["authorization"] = "Bearer " + mint_internal_token(
                settings.internal_token_secret, subject="u1", roles=["admin"]
            )
            yield client


def _is_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["type"].startswith("urn:crm:problem:")
    assert body["detail"]
    return body


async def test_valid_request_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/paints/1", json={"colour": "red", "litres": 3})
    assert response.status_code == 200
    assert response.headers["x-request-id"]


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/paints/1", content=b'{"colour": "red",', headers={"content-type": "application/json"}
    )
    body = _is_problem(response, 422)
    assert body["errors"][0]["code"] == "json_invalid"


async def test_wrong_types_and_unknown_enums_name_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/paints/abc", json={"colour": "green", "litres": "lots"})
    body = _is_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"path.paint_id", "body.colour", "body.litres"}


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/paints/1", json={"colour": "red", "litres": 1, "x": 1})
    body = _is_problem(response, 422)
    assert body["errors"][0]["field"] == "body.x"


async def test_oversized_body_is_a_413_problem(client: httpx.AsyncClient) -> None:
    big = {"colour": "red", "litres": 1, "pad": "x" * 5000}
    _is_problem(await client.post("/v1/paints/1", json=big), 413)


async def test_oversized_chunked_body_is_a_413_problem(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 1000

    response = await client.post(
        "/v1/paints/1", content=chunks(), headers={"content-type": "application/json"}
    )
    _is_problem(response, 413)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer nonsense",
        "Basic dTpw",
        "Bearer " + mint_internal_token("x" * 40, subject="u", roles=[]),
    ],
    ids=["missing", "garbage", "not-bearer", "foreign-secret"],
)
async def test_calls_without_a_valid_internal_token_are_refused(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization else {}
    if authorization is None:
        del client.headers["authorization"]
    response = await client.post(
        "/v1/paints/1", json={"colour": "red", "litres": 1}, headers=headers
    )
    _is_problem(response, 401)


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    _is_problem(await client.get("/v1/nothing-here"), 404)


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "topology": "ok"}
    await client.post("/v1/paints/7", json={"colour": "blue", "litres": 1})
    text = (await client.get("/metrics")).text
    assert (
        'http_requests_total{method="POST",route="/v1/paints/{paint_id}",service="probe",status="200"}'
        in text
    )
    assert "http_request_duration_seconds_bucket" in text
    assert "crm_outbox_backlog" in text


async def test_readiness_reports_an_unreachable_broker(tmp_path) -> None:
    settings = PlatformSettings(
        service_name="probe",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/probe.db",
        amqp_url="amqp://guest:guest@127.0.0.1:1/",
        relay_enabled=False,
    )
    app = create_service_app(settings, title="probe")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            body = _is_problem(await client.get("/readyz"), 503)
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("unreachable")


db_router = APIRouter(prefix="/v1/ledger")


@db_router.post("")
async def write(session: SessionDep) -> dict[str, int]:
    return {"one": (await session.execute(text("SELECT 1"))).scalar_one()}


async def test_a_request_while_the_database_is_away_is_a_503_not_a_500(
    amqp_url: str, database_factory
) -> None:
    """Nothing was applied (the transaction rolled back): the client is told to try again."""
    proxy = await TcpProxy("127.0.0.1:5432").start()
    settings = PlatformSettings(
        service_name="probe",
        database_url=through_proxy(await database_factory("probe_http"), proxy),
        amqp_url=amqp_url,
        relay_enabled=False,
    )
    app = create_service_app(settings, title="probe", routers=[db_router])
    headers = {
        "authorization": "Bearer "
        + mint_internal_token(settings.internal_token_secret, subject="u1", roles=["admin"])
    }
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
                assert (await client.post("/v1/ledger", headers=headers)).json() == {"one": 1}
                proxy.cut()
                response = await client.post("/v1/ledger", headers=headers)
                body = _is_problem(response, 503)
                assert body["type"].endswith("dependency-unavailable")
                assert response.headers["retry-after"] == "5"
                proxy.restore()
                assert (await client.post("/v1/ledger", headers=headers)).status_code == 200
    finally:
        await proxy.close()
