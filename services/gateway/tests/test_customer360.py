"""The customer 360 view: the sections fetched in parallel with the caller's own token, the
customers service's 404 for a customer the caller may not see, and an error marker for each
section whose service is down, slow, failing or not built yet."""

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from crm_platform.identity import verify_internal_token
from crm_platform.testing import free_port

from .conftest import INTERNAL_TOKEN_SECRET, api_key, person

REP = person("sales_rep", user_id="u-rep-1")
OTHER_REP = person("sales_rep", user_id="u-rep-2")
calls: list[tuple[str, str, float]] = []


def _caller(request: Request) -> str:
    token = request.headers["authorization"].split()[1]
    return verify_internal_token(INTERNAL_TOKEN_SECRET, token).subject


def _customers() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/customers/{customer_id}")
    async def customer(customer_id: str, request: Request) -> JSONResponse:
        calls.append(("customer", _caller(request), time.monotonic()))
        if _caller(request) != "u-rep-1":  # only its owner (and managers) may see it
            return JSONResponse(
                {"type": "urn:crm:problem:not-found", "status": 404, "detail": "No customer."},
                status_code=404,
                media_type="application/problem+json",
            )
        await asyncio.sleep(0.2)
        return JSONResponse({"id": customer_id, "owner_id": "u-rep-1"})

    @app.get("/v1/customers/{customer_id}/contacts")
    async def contacts(customer_id: str, request: Request) -> JSONResponse:
        calls.append(("contacts", _caller(request), time.monotonic()))
        await asyncio.sleep(0.2)
        return JSONResponse([{"name": "王芳", "customer_id": customer_id}])

    return app


def _service_desk() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/tickets")
    async def tickets(request: Request, customer_id: str, status: str) -> JSONResponse:
        calls.append(("tickets", _caller(request), time.monotonic()))
        await asyncio.sleep(0.2 if customer_id != "c-slow" else 2)
        return JSONResponse({"items": [{"id": "t-1", "status": status}], "total": 1})

    return app


def _failing() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/{rest:path}")
    async def boom(rest: str) -> JSONResponse:
        return JSONResponse(
            {"type": "urn:crm:problem:internal-error", "status": 500, "detail": "It broke."},
            status_code=500,
        )

    return app


def _serve(app: FastAPI) -> tuple[str, uvicorn.Server, threading.Thread]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, str]]:
    """customers and service desk answering; engagement a skeleton (no such routes: 404)."""
    running = {
        "customers_url": _serve(_customers()),
        "service_desk_url": _serve(_service_desk()),
        "engagement_url": _serve(FastAPI()),
        "notifier_url": _serve(_failing()),
    }
    yield {name: url for name, (url, _, _) in running.items()}
    for _, server, thread in running.values():
        server.should_exit = True
        thread.join(10)


async def test_one_call_returns_every_section_fetched_in_parallel(start_gateway, services) -> None:
    calls.clear()
    async with start_gateway(principal=REP, **services) as gateway:
        response = await gateway.get("/api/v1/customers/c-1/360")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["customer"] == {"id": "c-1", "owner_id": "u-rep-1"}
    assert view["contacts"] == [{"name": "王芳", "customer_id": "c-1"}]
    assert view["open_tickets"]["items"] == [{"id": "t-1", "status": "open"}]
    # Engagement serves no follow-ups or opportunities yet: those sections say so.
    for name in ("recent_follow_ups", "open_opportunities"):
        assert view[name]["error"]["status"] == 404
        assert "engagement" in view[name]["error"]["detail"]
    # Each call carried the rep's own identity, and they ran side by side: each section takes
    # 0.2 s, and the later of the two section calls started before the first could finish.
    assert {caller for _, caller, _ in calls} == {"u-rep-1"}
    assert {name for name, _, _ in calls} == {"customer", "contacts", "tickets"}
    started_at = {name: at for name, _, at in calls}
    assert abs(started_at["contacts"] - started_at["tickets"]) < 0.2


async def test_another_reps_customer_is_the_customers_services_404(start_gateway, services) -> None:
    async with start_gateway(principal=OTHER_REP, **services) as gateway:
        response = await gateway.get("/api/v1/customers/c-1/360")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "No customer."


async def test_a_service_down_or_slow_leaves_its_section_marked(start_gateway, services) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with start_gateway(principal=REP, **{**services, "service_desk_url": down}) as gateway:
        view = (await gateway.get("/api/v1/customers/c-1/360")).json()
    assert view["open_tickets"]["error"]["status"] == 503
    assert view["contacts"] and view["customer"]["id"] == "c-1"

    async with start_gateway(
        principal=REP, customer_360_timeout_seconds=0.5, **services
    ) as gateway:
        started = time.monotonic()
        response = await gateway.get("/api/v1/customers/c-slow/360")
        assert time.monotonic() - started < 1.5
    assert response.status_code == 200
    assert response.json()["open_tickets"]["error"]["status"] == 504


async def test_a_failing_service_is_a_marked_section_not_a_failed_view(
    start_gateway, services
) -> None:
    async with start_gateway(
        principal=REP, **{**services, "engagement_url": services["notifier_url"]}
    ) as gateway:
        view = (await gateway.get("/api/v1/customers/c-1/360")).json()
    assert view["recent_follow_ups"] == {"error": {"status": 500, "detail": "It broke."}}


async def test_the_customers_service_down_is_a_503(start_gateway, services) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with start_gateway(principal=REP, **{**services, "customers_url": down}) as gateway:
        response = await gateway.get("/api/v1/customers/c-1/360")
    assert response.status_code == 503
    assert response.json()["type"] == "urn:crm:problem:upstream-unavailable"


async def test_sections_the_caller_may_not_see_are_marked_not_asked_for(
    start_gateway, services
) -> None:
    calls.clear()
    key = api_key("sales_rep", "customers:read")  # no tickets:read, no follow-ups:read
    key = type(key)(**{**key.__dict__, "user_id": "u-rep-1"})
    async with start_gateway(principal=key, **services) as gateway:
        view = (await gateway.get("/api/v1/customers/c-1/360")).json()
    assert view["open_tickets"]["error"]["status"] == 403
    assert "tickets:read" in view["open_tickets"]["error"]["detail"]
    assert "tickets" not in {name for name, _, _ in calls}

    async with start_gateway(principal=api_key("sales_rep", "tickets:read"), **services) as gw:
        refused = await gw.get("/api/v1/customers/c-1/360")
    assert refused.status_code == 403  # the view is a read of customers first
