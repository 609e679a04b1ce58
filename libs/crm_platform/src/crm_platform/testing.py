"""Test helpers every service's suite uses: an isolated vhost and databases per run (copies of
a migrated template), free ports, real service processes, an app run in-process with its
consumer, publishing events as a relay does, internal tokens, and the checks every service's
HTTP edge must pass. Test-only, but mechanism, so it lives here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aio_pika
import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from crm_platform.events import CloudEvent
from crm_platform.events.broker import build_message, declare_exchange
from crm_platform.events.topology import QueueNames, unrouted_name
from crm_platform.identity import SYSTEM_ROLE, mint_internal_token
from crm_platform.migrations import upgrade
from crm_platform.settings import DEV_INTERNAL_TOKEN_SECRET

T = TypeVar("T")

AMQP_HOST = os.environ.get("CRM_TEST_AMQP_HOST", "127.0.0.1:5672")
PG_ADMIN_DSN = os.environ.get("CRM_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


def create_vhost(name: str) -> str:
    """Create a vhost for one test run; returns its AMQP URL."""
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return f"amqp://guest:guest@{AMQP_HOST}/{quote(name, safe='')}"


def delete_vhost(name: str) -> None:
    rabbitmqctl("delete_vhost", name)


def _dsn_for(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}"


async def create_database(name: str, *, template: str | None = None) -> str:
    """Create a PostgreSQL database, empty or a copy of ``template``; returns its SQLAlchemy
    URL (asyncpg driver). PostgreSQL copies a template only while nobody is connected to it
    (it waits 5 s, then refuses)."""
    statement = f'CREATE DATABASE "{name}"'
    if template is not None:
        statement += f' TEMPLATE "{template}"'
    await _admin_execute(statement)
    return _dsn_for(name).replace("postgresql://", "postgresql+asyncpg://", 1)


async def drop_database(name: str) -> None:
    await _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin_execute(statement: str) -> None:
    """One statement on the server's maintenance database, its connection closed after."""
    connection = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _identifier(label: str) -> str:
    return label.replace("-", "_")


@dataclass
class RunDatabases:
    """The PostgreSQL databases of one test run, all named ``crm_test_<run>_…``.

    Migrating a new database takes seconds and most tests want one, so each service's
    migrations run once per run, into a template database (``crm_test_<run>_tpl_<service>``),
    and every database asked for with them is a copy of it (``CREATE DATABASE … TEMPLATE``),
    a fraction of a second. The template then refuses connections: a stray one would make
    every later copy fail. ``drop_all`` removes copies and templates at the end of the run.
    """

    run: str
    created: list[str] = field(default_factory=list, init=False)
    _templates: dict[Path, str] = field(default_factory=dict, init=False)
    _locks: dict[Path, asyncio.Lock] = field(default_factory=dict, init=False)
    _serial: int = field(default=0, init=False)

    async def new(self, label: str, *, migrations: Path | None = None) -> str:
        """The URL of a new database: empty, or (``migrations=``, a service's migrations
        folder) at the head of those migrations."""
        template = None if migrations is None else await self.template(migrations)
        self._serial += 1
        name = f"crm_test_{self.run}_{_identifier(label)}_{self._serial}"
        url = await create_database(name, template=template)
        self.created.append(name)
        return url

    async def template(self, migrations: Path) -> str:
        """The name of the run's template for ``migrations``, made on first use; a lock per
        folder, so two fixtures asking at once migrate it once."""
        async with self._locks.setdefault(migrations, asyncio.Lock()):
            if migrations not in self._templates:
                self._templates[migrations] = await self._migrated_template(migrations)
            return self._templates[migrations]

    async def _migrated_template(self, migrations: Path) -> str:
        name = f"crm_test_{self.run}_tpl_{_identifier(migrations.parent.name)}"
        if name in self._templates.values():  # another folder under a same-named service
            name += f"_{len(self._templates)}"
        url = await create_database(name)
        self.created.append(name)
        # Alembic's engine has no pool and is disposed when it finishes: no connection stays.
        await asyncio.to_thread(upgrade, migrations, url)
        await _admin_execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        return name

    async def drop_all(self, *, at_once: int = 8) -> None:
        """Drop every database of the run, ``at_once`` at a time: a drop takes PostgreSQL 0.1 to
        0.2 s and a run makes hundreds, and concurrent drops halve the wait."""
        limit = asyncio.Semaphore(at_once)

        async def drop(name: str) -> None:
            async with limit:
                await drop_database(name)

        await asyncio.gather(*(drop(name) for name in self.created))
        self.created.clear()
        self._templates.clear()


async def fetch(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    """Read a service's database directly (tests only: services never do this)."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = 20.0,
    interval: float = 0.1,
    message: str = "condition",
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``message`` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value {last!r}")


@dataclass
class ServiceProcess:
    """One service run as a real process (``python -m crm_<name> serve``)."""

    name: str
    env: Mapping[str, str]
    port: int = field(default_factory=free_port)
    log_dir: Path = Path("var/test-logs")
    process: subprocess.Popen[bytes] | None = None

    @property
    def module(self) -> str:
        return "crm_" + self.name.replace("-", "_")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, *args: str) -> list[str]:
        return [sys.executable, "-m", self.module, *args]

    def migrate(self) -> None:
        subprocess.run(
            self._run("migrate"), env={**os.environ, **self.env}, check=True, capture_output=True
        )

    async def start(
        self, *, extra_env: Mapping[str, str] | None = None, ready_timeout: float = 30.0
    ) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{self.name}-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            self._run("serve", "--host", "127.0.0.1", "--port", str(self.port)),
            env={**os.environ, **self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        await self.wait_ready(ready_timeout)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Until ``/readyz`` answers 200: database and broker reachable, topology declared,
        relay running and (for a consuming service) its consumer subscribed. ``/healthz``
        alone answers before the consumer is, and an event sent then would wait."""

        async def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                async with httpx.AsyncClient(timeout=3) as client:
                    return (await client.get(self.url + "/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(ready, timeout=timeout, message=f"{self.name} to answer /readyz")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush — a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


# --------------------------------------------------------------------------- in-process apps


def isolated_consumer_settings(
    service: str, *, database_url: str, amqp_url: str, internal_token_secret: str
) -> dict[str, Any]:
    """Settings fields for a service tested in-process with its consumer: an exchange of its
    own, so no other test's events reach its queue, and a poison event parked after one
    quick retry."""
    return {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "events_exchange": f"crm.events.{service}-test.{uuid.uuid4().hex[:8]}",
        "internal_token_secret": internal_token_secret,
        "consumer_max_attempts": 2,
        "consumer_retry_delays_ms": [50],
    }


@contextlib.asynccontextmanager
async def running_app(app: Any, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A service app run in-process (lifespan: relay and consumer included) and a client for
    it. Its consumer is ready before the client is handed out, and its queues and events
    exchange are deleted afterwards, so what a test leaves there (a parked event) reaches no
    later test. Give each test's settings an ``events_exchange`` of its own."""
    settings = app.state.settings
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.wait_topology(), 10)
        consumer = app.state.runtime.consumer
        if consumer is not None:
            await asyncio.wait_for(consumer.wait_ready(), 10)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client
    await _delete_service_queues(settings)


async def _delete_service_queues(settings: Any) -> None:
    """A service's main, parked and retry queues, and its events exchange."""
    names = QueueNames(settings.service_name)
    retry_queues = [names.retry(delay) for delay in settings.consumer_retry_delays_ms]
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        unrouted = unrouted_name(settings.events_exchange)
        for queue in (names.main, names.parked, *retry_queues, unrouted):
            await channel.queue_delete(queue)
        await channel.exchange_delete(settings.events_exchange)
        await channel.exchange_delete(unrouted)


Publish = Callable[..., Awaitable[None]]


@contextlib.asynccontextmanager
async def event_publisher(amqp_url: str, exchange_name: str) -> AsyncIterator[Publish]:
    """``await publish(event)``: sent as a relay sends it, confirmed and mandatory (an event no
    queue is bound to lands in the exchange's alternate queue, ``crm.events….unrouted``, as
    the topology declares it). ``body=`` sends other bytes under the event's id, ``headers=``
    adds AMQP headers."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_exchange(channel, exchange_name)

        async def publish(
            event: CloudEvent,
            *,
            body: bytes | None = None,
            headers: dict[str, object] | None = None,
        ) -> None:
            message = build_message(
                body or event.to_bytes(), message_id=str(event.id), headers=headers
            )
            await exchange.publish(message, routing_key=event.routing_key)

        yield publish


async def queue_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in ``queue``."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


def bearer(
    secret: str, *roles: str, subject: str = "u-test", ttl_seconds: int = 24 * 3600
) -> dict[str, str]:
    """Headers carrying an internal token as the gateway mints them. A day by default: tests
    mint module-level headers at collection, and the whole suite runs longer than any short
    lifetime (tests of expiry pass their own)."""
    token = mint_internal_token(secret, subject=subject, roles=roles, ttl_seconds=ttl_seconds)
    return {"authorization": f"Bearer {token}"}


async def sign_in(base_url: str, username: str, password: str) -> dict[str, str]:
    """Headers of a person signed in at the gateway (``POST /api/v1/auth/login``)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
    if response.status_code != 200:
        raise RuntimeError(f"sign-in as {username} failed: {response.status_code} {response.text}")
    return {"authorization": f"Bearer {response.json()['access_token']}"}


async def events_consumed(client: httpx.AsyncClient, event_type: str, outcome: str) -> float:
    """A consumer's count of ``event_type`` events with ``outcome``, read from /metrics (the
    registry is the test process's: compare before and after, never absolute values)."""
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "crm_events_consumed_total" and sample.labels == {
                "type": event_type,
                "outcome": outcome,
            }:
                return sample.value
    return 0.0


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# --------------------------------------------------------------------------- the HTTP edge

# Every service's bus administration; business routes join them in each service's own tests.
BUS_ADMIN_ROUTES = (("GET", "/v1/admin/parked-events"), ("POST", "/v1/admin/parked-events/replay"))


async def check_internal_token_guard(
    client: httpx.AsyncClient,
    secret: str,
    routes: Sequence[tuple[str, str]] = BUS_ADMIN_ROUTES,
) -> None:
    """``routes`` refuse (401 problem) a missing, garbled, non-Bearer, expired token or one
    signed with the development secret, forbid (403) a role that may not use them, and let
    the gateway's own token through (so the refusals were the token's)."""
    refused = {
        "missing": {},
        "garbage": {"authorization": "Bearer not-a-token"},
        "not bearer": {"authorization": "Basic dTpw"},
        "development secret": bearer(DEV_INTERNAL_TOKEN_SECRET, SYSTEM_ROLE),
        "expired": bearer(secret, SYSTEM_ROLE, ttl_seconds=-60),
    }
    for method, path in routes:
        for case, headers in refused.items():
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, case, response.text)
            _assert_problem(response, 401)
        _assert_problem(
            await client.request(method, path, headers=bearer(secret, "sales_rep")), 403
        )
    allowed = await client.get("/v1/admin/parked-events", headers=bearer(secret, SYSTEM_ROLE))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == []


async def check_open_edge(client: httpx.AsyncClient, service: str) -> None:
    """Health, readiness (database, broker, consumer, relay) and metrics answer without a
    token, and a refused call is counted under this service's name and route template."""
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "topology": "ok",
        "consumer": "ok",
        "relay": "ok",
    }
    await client.get("/v1/admin/parked-events")  # refused: no token
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'http_requests_total{method="GET",route="/v1/admin/parked-events",'
        f'service="{service}",status="401"}}'
    ) in metrics.text


class FakeClock:
    """A clock tests move by hand (never by sleeping); satisfies ``crm_platform.clock.Clock``."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> datetime:
        """Move on by ``timedelta(**delta)`` and answer the new now."""
        self.current += timedelta(**delta)
        return self.current
