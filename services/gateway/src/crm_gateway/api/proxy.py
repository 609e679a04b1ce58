"""Forwarding: every route of the route table, for the principal that called, with pooled
connections, timeouts, and clear errors when a service is down or the gateway has no free
connection to it (503) or it is too slow (504).

A call is admitted in this order: signed in (``authenticated``: 401), within the principal's
rate limit (429), its role and API-key scope cover the route and method (403). It reaches the
service with the principal's internal token, never with what the client sent as identity.
A GET or HEAD whose connection failed before any answer is tried once more.

The path goes on as the client encoded it: decoding first would turn ``a%2Fb`` into two
segments. A timeout is a 504 only while the service's answer has not started; once its status
line is on its way to the client, a stalled body can only cut the response short.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from crm_gateway.api.deps import authenticated
from crm_gateway.api.rate_limits import RateLimits
from crm_gateway.api.upstream import InternalTokens, build_client
from crm_gateway.domain.principals import Principal
from crm_gateway.domain.routes import ANONYMOUS, READ_METHODS, ROUTES, Route
from crm_gateway.settings import GatewaySettings
from crm_platform.http.middleware import CORRELATION_ID_HEADER, REQUEST_ID_HEADER
from crm_platform.http.problems import problem_response
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
# Identity and credentials the client sent are for the gateway, never for a service: the
# service learns who calls from the internal token alone.
IDENTITY_HEADERS = {
    b"authorization",
    b"cookie",
    b"x-api-key",
    b"x-internal-token",
    b"x-user-id",
    b"x-user-roles",
    b"x-user-name",
    b"x-roles",
    b"x-forwarded-user",
    b"x-remote-user",
    b"x-auth-request-user",
    b"x-principal",
}
IDENTITY_HEADER_PREFIXES = (b"x-crm-", b"x-internal-")
# A connection that failed before any answer: nothing reached the service, or nothing it did
# came back; a read may safely be tried again (once), a write may not.
RETRIED_FAILURES = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IMPORTS_PATH = "/api/v1/customers/imports"  # uploads: a larger body and a longer wait

router = APIRouter(tags=["gateway"])
log = logging.getLogger(__name__)


async def start_forwarding(app: FastAPI) -> None:
    """The pooled client that calls the services, the principals' internal tokens and
    their rate limits."""
    settings: GatewaySettings = app.state.settings
    app.state.internal_tokens = InternalTokens(
        settings.internal_token_secret, settings.internal_token_ttl_seconds
    )
    app.state.upstream_client = build_client(settings)
    app.state.rate_limits = RateLimits(settings)


async def stop_forwarding(app: FastAPI) -> None:
    await app.state.upstream_client.aclose()


def base_url(settings: GatewaySettings, service: str) -> str:
    return getattr(settings, f"{service.replace('-', '_')}_url").rstrip("/")


def _end_to_end(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers meant for the far end, as bytes (values need not be ASCII) and with repeats
    kept (``set-cookie``): not hop-by-hop ones, nor those ``Connection`` names (RFC 9110
    §7.6.1)."""
    pairs = [(k.lower(), v) for k, v in raw]
    named = {t.strip() for k, v in pairs if k == b"connection" for t in v.lower().split(b",")}
    dropped = HOP_BY_HOP | named
    return [(k, v) for k, v in pairs if k not in dropped]


def _service_url(request: Request, settings: GatewaySettings, route: Route) -> str | None:
    """The service URL for the path as the client encoded it; None if its prefix was
    percent-encoded too (the route matched the decoded path, the raw one is not ours)."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    service_path = route.service_path(raw_path.decode("latin-1"))
    if service_path is None:
        return None
    url = base_url(settings, route.service) + service_path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{url}?{query}" if query else url


def _is_identity(name: bytes) -> bool:
    return name in IDENTITY_HEADERS or name.startswith(IDENTITY_HEADER_PREFIXES)


def internal_token(request: Request, principal: Principal) -> str:
    tokens: InternalTokens = request.app.state.internal_tokens
    return tokens.for_principal(principal)


def context_headers(token: str) -> list[tuple[bytes, bytes]]:
    """What the gateway itself tells a service: who calls, and the request's ids."""
    return [
        (b"authorization", b"Bearer " + token.encode()),
        (REQUEST_ID_HEADER.encode(), (request_id_var.get() or "").encode("latin-1")),
        (CORRELATION_ID_HEADER.encode(), (correlation_id_var.get() or "").encode("latin-1")),
    ]


def _forward_headers(request: Request, principal: Principal) -> list[tuple[bytes, bytes]]:
    ours = context_headers(internal_token(request, principal))
    names = {k for k, _ in ours}
    return [
        *(
            (k, v)
            for k, v in _end_to_end(request.headers.raw)
            if k not in names and not _is_identity(k)
        ),
        *ours,
    ]


async def admit(request: Request, route: Route, principal: Principal) -> Response | None:
    """None if ``principal`` may make this call now; else the 429 or 403 problem."""
    limits: RateLimits = request.app.state.rate_limits
    limited = await limits.refusal(principal, request.url.path)
    if limited is not None:
        return limited
    refusal = route.refusal(principal, request.method)
    if refusal is not None:
        return problem_response(403, "forbidden", refusal, instance=request.url.path)
    return None


async def send_upstream(
    client: httpx.AsyncClient, outbound: httpx.Request, *, stream: bool = True
) -> httpx.Response:
    """Send; a read whose connection failed before any answer is tried once more."""
    try:
        return await client.send(outbound, stream=stream)
    except RETRIED_FAILURES:
        if outbound.method not in READ_METHODS:
            raise
        log.info("retrying %s %s once: the connection failed", outbound.method, outbound.url)
        return await client.send(outbound, stream=stream)


def unavailable(service: str, exc: httpx.TransportError, instance: str) -> Response:
    """The problem a client gets when a service could not be asked or did not answer."""
    if isinstance(exc, httpx.PoolTimeout):  # the request never left: every connection busy
        return problem_response(
            503,
            "gateway-busy",
            f"The gateway has no free connection to the {service} service; try again shortly.",
            instance=instance,
            headers={"retry-after": "1"},
        )
    if isinstance(exc, httpx.TimeoutException):
        return problem_response(
            504,
            "upstream-timeout",
            f"The {service} service did not answer in time.",
            instance=instance,
        )
    return problem_response(
        503,
        "upstream-unavailable",
        f"The {service} service is unavailable; try again shortly.",
        instance=instance,
        headers={"retry-after": "5"},
    )


async def forward(request: Request, route: Route, principal: Principal) -> Response:
    settings: GatewaySettings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.upstream_client
    url = _service_url(request, settings, route)
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
        headers=_forward_headers(request, principal),
        content=await request.body(),
    )
    if request.url.path == IMPORTS_PATH:
        outbound.extensions["timeout"] = httpx.Timeout(
            settings.import_timeout_seconds,
            connect=settings.upstream_connect_timeout_seconds,
            pool=settings.upstream_pool_timeout_seconds,
        ).as_dict()
    try:
        upstream_response = await send_upstream(client, outbound)
    except httpx.TransportError as exc:
        return unavailable(route.service, exc, request.url.path)
    response = StreamingResponse(
        _relay_body(upstream_response, route.service),
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


async def _relay_body(upstream_response: httpx.Response, service: str) -> AsyncIterator[bytes]:
    """The service's body as it comes. If it breaks off after the status line, the error goes
    on to the server, which drops the connection: ending cleanly would pass a cut body off as
    whole."""
    try:
        async for chunk in upstream_response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        log.warning("the %s service's response broke off mid-body: %r", service, exc)
        raise


def _register(route: Route) -> None:
    if route.public:

        async def handler(request: Request) -> Response:
            return await forward(request, route, ANONYMOUS)

    else:

        async def handler(
            request: Request, principal: Annotated[Principal, Depends(authenticated)]
        ) -> Response:
            refused = await admit(request, route, principal)
            if refused is not None:
                return refused
            return await forward(request, route, principal)

    area = route.area.replace("/", "_").replace("-", "_")
    handler.__name__ = f"forward_{area}_to_{route.service.replace('-', '_')}"
    for path in (route.public_prefix, route.public_prefix + "/{rest:path}"):
        router.add_api_route(path, handler, methods=METHODS, include_in_schema=False)


# Longest prefixes first, so a nested prefix is never shadowed by its parent.
for _route in sorted(ROUTES, key=lambda route: -len(route.public_prefix)):
    _register(_route)
