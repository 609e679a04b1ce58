"""Forwarding: pooled connections, timeouts, the internal token, and clear errors when a
service is down or the gateway has no free connection to it (503) or it is too slow (504).

The path goes on as the client encoded it: decoding first would turn ``a%2Fb`` into two
segments. A timeout is a 504 only while the service's answer has not started; once its status
line is on its way to the client, a stalled body can only cut the response short.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from crm_gateway.domain.routes import UPSTREAMS, Upstream
from crm_gateway.settings import GatewaySettings
from crm_platform.http.middleware import CORRELATION_ID_HEADER, REQUEST_ID_HEADER
from crm_platform.http.problems import problem_response
from crm_platform.identity import SYSTEM_ROLE, ServiceToken
from crm_platform.logging import correlation_id_var, request_id_var

# Hop-by-hop (RFC 9110 §7.6.1), plus what the HTTP client sets itself: host and length.
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"trailers",
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"content-length",
}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IMPORTS_PATH = "/api/v1/customers/imports"  # uploads: a larger body and a longer wait

router = APIRouter(tags=["gateway"])
log = logging.getLogger(__name__)


async def start_forwarding(app: FastAPI) -> None:
    """The gateway's own token for the services, and the pooled client that calls them."""
    settings: GatewaySettings = app.state.settings
    app.state.service_token = ServiceToken(
        settings.internal_token_secret,
        subject="service:gateway",
        roles=[SYSTEM_ROLE],
        name="gateway",
        ttl_seconds=settings.internal_token_ttl_seconds,
    )
    app.state.upstream_client = httpx.AsyncClient(
        timeout=httpx.Timeout(
            settings.upstream_timeout_seconds,
            connect=settings.upstream_connect_timeout_seconds,
            pool=settings.upstream_pool_timeout_seconds,
        ),
        limits=httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections,
        ),
    )


async def stop_forwarding(app: FastAPI) -> None:
    await app.state.upstream_client.aclose()


def _base_url(settings: GatewaySettings, upstream: Upstream) -> str:
    return getattr(settings, f"{upstream.name.replace('-', '_')}_url").rstrip("/")


def _end_to_end(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers meant for the far end, as bytes (values need not be ASCII) and with repeats
    kept (``set-cookie``): not hop-by-hop ones, nor those ``Connection`` names (RFC 9110
    §7.6.1)."""
    pairs = [(k.lower(), v) for k, v in raw]
    named = {t.strip() for k, v in pairs if k == b"connection" for t in v.lower().split(b",")}
    dropped = HOP_BY_HOP | named
    return [(k, v) for k, v in pairs if k not in dropped]


def _service_url(request: Request, settings: GatewaySettings, upstream: Upstream) -> str | None:
    """The service URL for the path as the client encoded it; None if its prefix was
    percent-encoded too (the route matched the decoded path, the raw one is not ours)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    service_path = upstream.service_path(raw_path.decode("latin-1"))
    if service_path is None:
        return None
    url = _base_url(settings, upstream) + service_path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{url}?{query}" if query else url


def _forward_headers(request: Request) -> list[tuple[bytes, bytes]]:
    headers = _end_to_end(request.headers.raw)
    token: ServiceToken = request.app.state.service_token
    ours = {
        b"authorization": f"Bearer {token.current()}",
        REQUEST_ID_HEADER.encode(): request_id_var.get() or "",
        CORRELATION_ID_HEADER.encode(): correlation_id_var.get() or "",
    }
    return [
        *((k, v) for k, v in headers if k not in ours),
        *((k, v.encode("latin-1")) for k, v in ours.items()),
    ]


async def forward(request: Request, upstream: Upstream) -> Response:
    settings: GatewaySettings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.upstream_client
    url = _service_url(request, settings, upstream)
    if url is None:
        return problem_response(
            404,
            "not-found",
            "No such path; send it without encoding its fixed part.",
            instance=request.url.path,
        )
    outbound = client.build_request(
        request.method,
        url,
        headers=_forward_headers(request),
        content=await request.body(),
    )
    if request.url.path == IMPORTS_PATH:
        outbound.extensions["timeout"] = httpx.Timeout(
            settings.import_timeout_seconds,
            connect=settings.upstream_connect_timeout_seconds,
            pool=settings.upstream_pool_timeout_seconds,
        ).as_dict()
    try:
        upstream_response = await client.send(outbound, stream=True)
    except httpx.PoolTimeout:  # the request never left: every connection to it was busy
        return problem_response(
            503,
            "gateway-busy",
            f"The gateway has no free connection to the {upstream.name} service; "
            "try again shortly.",
            instance=request.url.path,
            headers={"retry-after": "1"},
        )
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
    response = StreamingResponse(
        _relay_body(upstream_response, upstream),
        status_code=upstream_response.status_code,
        background=BackgroundTask(upstream_response.aclose),
    )
    # The body goes on as it came (aiter_raw), so its length does too; our request id wins.
    response.raw_headers = [
        (k, v)
        for k, v in _end_to_end(upstream_response.headers.raw)
        if k != REQUEST_ID_HEADER.encode()
    ]
    if "content-length" in upstream_response.headers:
        length = upstream_response.headers["content-length"].encode()
        response.raw_headers.append((b"content-length", length))
    return response


async def _relay_body(
    upstream_response: httpx.Response, upstream: Upstream
) -> AsyncIterator[bytes]:
    """The service's body as it comes. If it breaks off after the status line, the error goes
    on to the server, which drops the connection: ending cleanly would pass a cut body off as
    whole."""
    try:
        async for chunk in upstream_response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("the %s service's response broke off mid-body: %r", upstream.name, exc)
        raise


def _register(upstream: Upstream) -> None:
    async def handler(request: Request) -> Response:
        return await forward(request, upstream)

    area = upstream.public_prefix.removeprefix("/api/v1/").replace("/", "_").replace("-", "_")
    handler.__name__ = f"forward_{area}_to_{upstream.name.replace('-', '_')}"
    for path in (upstream.public_prefix, upstream.public_prefix + "/{rest:path}"):
        router.add_api_route(path, handler, methods=METHODS, include_in_schema=False)


for _upstream in UPSTREAMS:
    _register(_upstream)
