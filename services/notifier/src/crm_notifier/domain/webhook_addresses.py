"""Where a partner webhook may be sent: no server-side request forgery.

Outside development a webhook URL must be ``https`` and its host must resolve only to public
addresses: loopback, private, link-local, shared (CGNAT), reserved, multicast and unspecified
ranges are refused, IPv4-mapped IPv6 included, unless ``webhook_allow_private_addresses``
(a deployment whose partners sit on its own network). The rule is applied when a subscription
is written and again at every connection the dispatcher opens: its HTTP client resolves the
host itself and connects to the very address it checked, so a name that re-resolves to an
internal address later (DNS rebinding) is refused at send time, and the TLS certificate is
still checked against the host name. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from crm_notifier.settings import Settings
from crm_platform.errors import InvalidField

USER_AGENT = "crm-notifier-webhooks/1"
MAX_URL_LENGTH = 2000


class AddressRefused(httpcore.ConnectError):
    """The host resolves to an address webhooks may not reach (or does not resolve)."""


def private_allowed(settings: Settings) -> bool:
    return settings.environment == "development" or settings.webhook_allow_private_addresses


def refusal_of(address: str) -> str | None:
    """Why webhooks may not reach ``address`` (an IP literal), or None if they may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for name, flag in (
        ("a loopback", ip.is_loopback),
        ("an unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a private", ip.is_private),
        ("a reserved", ip.is_reserved),
    ):
        if flag:
            return f"{ip} is {name} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


async def resolve(host: str, port: int, *, timeout: float) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order (no duplicates)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
        )
    except (OSError, ValueError, TimeoutError) as exc:  # UnicodeError is a ValueError
        raise AddressRefused(f"{host} does not resolve ({exc or type(exc).__name__})") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise AddressRefused(f"{host} does not resolve")
    return addresses


async def allowed_addresses(
    host: str, port: int, *, allow_private: bool, timeout: float
) -> list[str]:
    """``host``'s addresses; ``AddressRefused`` if any of them is not public (unless
    ``allow_private``): one bad address among good ones is refused too."""
    addresses = await resolve(host, port, timeout=timeout)
    if not allow_private:
        for address in addresses:
            reason = refusal_of(address)
            if reason is not None:
                raise AddressRefused(f"address refused: {host} resolves to {reason}")
    return addresses


async def check_url(url: str, settings: Settings) -> str:
    """The URL as it will be stored, or ``InvalidField('url', …)`` (422): https outside
    development, a host, no credentials in it, and (``allowed_addresses``) a host that
    resolves to addresses webhooks may reach."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise InvalidField("url", "is not a URL") from exc
    schemes = ("https", "http") if settings.environment == "development" else ("https",)
    if parsed.scheme not in schemes:
        raise InvalidField("url", f"must use {' or '.join(schemes)}")
    if not parsed.host:
        raise InvalidField("url", "must name a host")
    if parsed.userinfo:
        raise InvalidField("url", "must not carry credentials; verify the signature instead")
    if parsed.fragment:
        raise InvalidField("url", "must not have a fragment")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        await allowed_addresses(
            parsed.host,
            port,
            allow_private=private_allowed(settings),
            timeout=settings.http_timeout_seconds,
        )
    except AddressRefused as exc:
        raise InvalidField("url", f"is refused: {exc}") from exc
    normalized = str(parsed)
    if len(normalized) > MAX_URL_LENGTH:
        raise InvalidField("url", f"must be at most {MAX_URL_LENGTH} characters once encoded")
    return normalized


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to the addresses ``allowed_addresses`` answered for the host,
    trying them in order; TLS (started later by httpcore) still verifies the host name."""

    def __init__(self, *, allow_private: bool, timeout: float) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private
        self._timeout = timeout

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await allowed_addresses(
            host, port, allow_private=self._allow_private, timeout=timeout or self._timeout
        )
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("webhooks never use a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_client(settings: Settings) -> httpx.AsyncClient:
    """The dispatcher's HTTP client: connections through ``_GuardedBackend``, no proxies
    from the environment (they would connect on our behalf, unchecked), no redirects."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx has no parameter for httpcore's network backend: the pool is built again with it.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=settings.dispatch_concurrency,
        max_keepalive_connections=min(20, settings.dispatch_concurrency),
        keepalive_expiry=5.0,
        network_backend=_GuardedBackend(
            allow_private=private_allowed(settings), timeout=settings.http_timeout_seconds
        ),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=settings.http_timeout_seconds,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": USER_AGENT},
    )
