"""Forwarding: pooled connections, timeouts, the internal token, and clear errors when a
service is down (503) or too slow (504)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from crm_gateway.domain.routes import UPSTREAMS, Upstream
from crm_gateway.settings import GatewaySettings
from crm_platform.http.middleware import CORRELATION_ID_HEADER, REQUEST_ID_HEADER
from crm_platform.http.problems import problem_response
from crm_platform.identity import SYSTEM_ROLE, mint_internal_token
from crm_platform.logging import correlation_id_var, request_id_var

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "authorization",
}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IMPORTS_PATH = "/api/v1/customers/imports"  # uploads: a larger body and a longer wait

router = APIRouter(tags=["gateway"])


async def open_upstream_client(app: FastAPI) -> None:
    settings: GatewaySettings = app.state.settings
    app.state.upstream_client = httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        ),
        limits=httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
        ),
    )


async def close_upstream_client(app: FastAPI) -> None:
    await app.state.upstream_client.aclose()


def _base_url(settings: GatewaySettings, upstream: Upstream) -> str:
    return getattr(settings, f"{upstream.name.replace('-', '_')}_url").rstrip("/")


def _forward_headers(request: Request, settings: GatewaySettings) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
    token = mint_internal_token(
        settings.internal_token_secret,
        subject="service:gateway",
        roles=[SYSTEM_ROLE],
        name="gateway",
        ttl_seconds=settings.internal_token_ttl_seconds,
    )
    headers["authorization"] = f"Bearer {token}"
    headers[REQUEST_ID_HEADER] = request_id_var.get() or ""
    headers[CORRELATION_ID_HEADER] = correlation_id_var.get() or ""
    return headers


async def forward(request: Request, upstream: Upstream) -> Response:
    settings: GatewaySettings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.upstream_client
    url = _base_url(settings, upstream) + upstream.service_path(request.url.path)
    outbound = client.build_request(
        request.method,
        url,
        params=request.query_params.multi_items(),
        headers=_forward_headers(request, settings),
        content=await request.body(),
    )
    if request.url.path == IMPORTS_PATH:
        outbound.extensions["timeout"] = httpx.Timeout(
            settings.import_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        ).as_dict()
    try:
        upstream_response = await client.send(outbound, stream=True)
    except httpx.TimeoutException:
        return problem_response(
            504,
            "upstream-timeout",
            f"The {upstream.name} service did not answer in time.",
            instance=request.url.path,
        )
    except httpx.TransportError:
        return problem_response(
            503,
            "upstream-unavailable",
            f"The {upstream.name} service is unavailable; try again shortly.",
            instance=request.url.path,
            headers={"retry-after": "5"},
        )
    headers = {
        k: v
        for k, v in upstream_response.headers.items()
        if k.lower() not in HOP_BY_HOP or k.lower() == "content-length"
    }
    headers.pop("x-request-id", None)
    return StreamingResponse(
        upstream_response.aiter_raw(),
        status_code=upstream_response.status_code,
        headers=headers,
        background=BackgroundTask(upstream_response.aclose),
    )


def _register(upstream: Upstream) -> None:
    async def handler(request: Request) -> Response:
        return await forward(request, upstream)

    area = upstream.public_prefix.rsplit("/", 1)[1].replace("-", "_")
    handler.__name__ = f"forward_{area}_to_{upstream.name.replace('-', '_')}"
    for path in (upstream.public_prefix, upstream.public_prefix + "/{rest:path}"):
        router.add_api_route(path, handler, methods=METHODS, include_in_schema=False)


for _upstream in UPSTREAMS:
    _register(_upstream)
