"""How the gateway reaches the services: one pooled client, and the internal token of each
principal.

The client keeps httpx's API (requests, responses, its exceptions), carried by aiohttp's
connection pool (``AiohttpTransport``): on this machine httpx's own transport cost most of the
gateway's CPU per forwarded call (docs/gateway-routes.md has the figures of both; the setting
``CRM_UPSTREAM_TRANSPORT=httpx`` selects httpx's own). The ``httpx-aiohttp`` package's transport
was tried first; it maps a dropped connection to a connect *timeout* (a 504 instead of a 503)
and cannot tell a full pool from a slow connect, so this one is ours, on the same idea.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import aiohttp
import httpx

from crm_gateway.api.deps import internal_identity
from crm_gateway.domain.principals import Principal
from crm_gateway.settings import GatewaySettings
from crm_platform.identity import mint_internal_token

# Reuse a principal's token for this share of its lifetime: the services verify a token once
# and answer from memory after (crm_platform.identity.InternalTokenVerifier); what is left is
# the margin for clock skew and a slow call.
TOKEN_REUSE_SHARE = 0.75


class InternalTokens:
    """The internal token for each principal (subject, roles, name), minted once and reused
    for most of its lifetime, so a forwarded call costs no signature (a dict look-up)."""

    def __init__(
        self,
        secret: str,
        ttl_seconds: int,
        *,
        capacity: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._ttl = ttl_seconds
        self._reuse = ttl_seconds * TOKEN_REUSE_SHARE
        self._capacity = capacity
        self._clock = clock
        self._tokens: OrderedDict[tuple[str, frozenset[str], str], tuple[str, float]] = (
            OrderedDict()
        )

    def for_principal(self, principal: Principal) -> str:
        key = internal_identity(principal)
        now = self._clock()
        cached = self._tokens.get(key)
        if cached is not None and now < cached[1]:
            return cached[0]
        subject, roles, name = key
        token = mint_internal_token(
            self._secret, subject=subject, roles=roles, name=name, ttl_seconds=self._ttl
        )
        self._tokens[key] = (token, now + self._reuse)
        self._tokens.move_to_end(key)
        if len(self._tokens) > self._capacity:
            self._tokens.popitem(last=False)
        return token


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: a service's ``Set-Cookie`` is for the client it answered, and
    a shared client that stored it would send it on with everybody's later calls."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def build_client(settings: GatewaySettings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        settings.upstream_timeout_seconds,
        connect=settings.upstream_connect_timeout_seconds,
        pool=settings.upstream_pool_timeout_seconds,
    )
    limits = httpx.Limits(
        max_connections=settings.upstream_max_connections,
        max_keepalive_connections=settings.upstream_max_connections,
    )
    transport: httpx.AsyncBaseTransport
    if settings.upstream_transport == "aiohttp":
        transport = AiohttpTransport(max_connections=settings.upstream_max_connections)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits)
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, transport=transport, cookies=_no_cookies()
    )


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, release: Callable[[], None]) -> None:
        self._response = response
        self._release = release
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _mapped(exc) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from exc

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._response.release()
            self._release()


def _mapped(exc: BaseException) -> httpx.TransportError:
    """aiohttp's failures as the httpx errors the gateway answers by."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError | TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, unreachable, no such host
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError):
        return httpx.RemoteProtocolError(message)
    return httpx.TransportError(message)


def _header_text(value: bytes) -> str:
    """aiohttp writes header values as UTF-8 text: UTF-8 bytes pass unchanged."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent over an aiohttp connection pool.

    At most ``max_connections`` requests are in flight; a request that waits longer than its
    ``pool`` timeout for a free one raises ``httpx.PoolTimeout`` (it never left), as httpx's
    own pool does. Bodies are passed on as they come, neither decompressed nor compressed.
    """

    def __init__(self, *, max_connections: int, keepalive_seconds: float = 30.0) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._max_connections = max_connections
        self._keepalive_seconds = keepalive_seconds
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    limit_per_host=0,
                    keepalive_timeout=self._keepalive_seconds,
                    ttl_dns_cache=60,
                ),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeout = request.extensions.get("timeout", {})
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout.get("pool"))
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection to the service in time") from None
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=[(k.decode("latin-1"), _header_text(v)) for k, v in request.headers.raw],
                data=request.content or None,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        except BaseException as exc:
            self._slots.release()
            if isinstance(exc, aiohttp.ClientError | TimeoutError):
                raise _mapped(exc) from exc
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_Body(response, self._slots.release),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
