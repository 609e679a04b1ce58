"""The gateway in-process, forwarding over real HTTP to upstreams run on free ports: an echo
server under uvicorn that answers with what it received, or nothing listening at all."""

import asyncio
import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn

from crm_gateway.__main__ import MIGRATIONS_DIR
from crm_gateway.api.deps import authenticated
from crm_gateway.domain.principals import Principal
from crm_gateway.main import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform.testing import free_port

from .factories import People, start_people

# Not the development default: the tests verify forwarded tokens with this one.
INTERNAL_TOKEN_SECRET = "gateway-tests-internal-token-secret-0123456789"

StartGateway = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
SERVICE_URLS = ("customers_url", "engagement_url", "service_desk_url", "notifier_url")

ADMIN = Principal(kind="user", user_id="u-admin", roles=frozenset({"admin"}), name="Ada Admin")


def person(role: str, user_id: str | None = None) -> Principal:
    return Principal(
        kind="user", user_id=user_id or f"u-{role}", roles=frozenset({role}), name=role.title()
    )


def api_key(role: str, *scopes: str, key_id: str = "k-1") -> Principal:
    return Principal(
        kind="api_key",
        user_id=f"u-{role}-integration",
        roles=frozenset({role}),
        name="Partner",
        scopes=frozenset(scopes),
        key_id=key_id,
    )


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer any request with what arrived (``?delay=<seconds>`` answers that much later)."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    delay = dict(parse_qsl(scope["query_string"].decode())).get("delay")
    if delay:
        await asyncio.sleep(float(delay))
    received = json.dumps(
        {
            "method": scope["method"],
            "path": scope["path"],
            "raw_path": (scope.get("raw_path") or b"").decode("latin-1"),
            "raw_query": scope["query_string"].decode("latin-1"),
            "query": parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "body": base64.b64encode(body).decode(),
            "client_port": scope["client"][1],
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(received)).encode()),
        (b"x-echo", b"yes"),
        (b"x-request-id", b"the-upstream-own-request-id"),  # the gateway's id wins
        (b"keep-alive", b"timeout=99"),  # hop-by-hop: the gateway drops them
        (b"proxy-authenticate", b"Basic realm=upstream"),
        (b"connection", b"x-upstream-hop"),  # names a header meant for the next hop only
        (b"x-upstream-hop", b"dropped"),
        (b"set-cookie", b"a=1; Path=/"),  # repeated: both must reach the client
        (b"set-cookie", b"b=2; Path=/"),
        (b"x-upstream-name", "星辰".encode()),  # not ASCII: passed on as the bytes it is
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": received})


@dataclass
class Received:
    """What the echo upstream saw of one forwarded request."""

    method: str
    path: str
    raw_path: str
    raw_query: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    client_port: int

    @classmethod
    def of(cls, response: httpx.Response) -> "Received":
        assert response.status_code == 200, response.text
        seen = response.json()
        return cls(
            method=seen["method"],
            path=seen["path"],
            raw_path=seen["raw_path"],
            raw_query=seen["raw_query"],
            query=[tuple(pair) for pair in seen["query"]],
            headers=[tuple(pair) for pair in seen["headers"]],
            body=base64.b64decode(seen["body"]),
            client_port=seen["client_port"],
        )

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@pytest.fixture(scope="module")
def echo_upstream() -> Iterator[str]:
    """The echo server on a free port, in a thread of its own as if in another process."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            echo,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, name="echo-upstream", daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the echo upstream did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
async def gateway_database(database_factory) -> str:
    url = await database_factory("gateway", migrations=MIGRATIONS_DIR)
    return url


@pytest.fixture
def start_gateway(gateway_database: str, amqp_url: str, echo_upstream: str) -> StartGateway:
    """``async with start_gateway(**settings) as client``: a running gateway (forwarding every
    service's routes to the echo upstream unless told otherwise) and a client speaking to it
    in-process, signed in as ``principal`` (an admin by default; None: not signed in; a
    callable: decided per request)."""

    @contextlib.asynccontextmanager
    async def start(
        principal: Principal | Callable[[], Principal] | None = ADMIN, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings = GatewaySettings(
            database_url=gateway_database,
            amqp_url=amqp_url,
            internal_token_secret=INTERNAL_TOKEN_SECRET,
            **{
                **dict.fromkeys(SERVICE_URLS, echo_upstream),
                # Its consumer's queue is bound to an exchange of its own (no other test's
                # events reach it).
                "events_exchange": f"crm.events.gateway-test.{uuid.uuid4().hex[:8]}",
                **overrides,
            },
        )
        app = create_app(settings)
        if principal is not None:
            app.dependency_overrides[authenticated] = (
                principal if callable(principal) else lambda: principal
            )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gateway", timeout=10
            ) as client:
                client.app = app  # type: ignore[attr-defined]
                yield client

    return start


@pytest.fixture
async def gateway(start_gateway: StartGateway) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with its default settings, forwarding to the echo upstream."""
    async with start_gateway() as client:
        yield client


@pytest.fixture
async def people(database_factory, amqp_url: str) -> AsyncIterator[People]:
    """A gateway on a database of its own (users, sessions, audit start empty but for the
    first admin), its consumer ready, and a client signed in as that admin."""
    url = await database_factory("gateway_people", migrations=MIGRATIONS_DIR)
    async with start_people(url, amqp_url) as started:
        yield started
