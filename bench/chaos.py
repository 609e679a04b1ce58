"""Fault-injection run: customers written through the gateway while services crash, the
broker drops everyone, the database goes away and a handler fails; then count what was lost,
applied twice or parked.

Why: the event path promises no loss and no duplicates (docs/architecture.md): an outbox row
committed with the business change, a relay that marks a row sent only after the broker's
confirm, inboxes that turn a redelivery into a no-op, retries and parking. Each piece has its
own test; this run checks the promise end to end under the faults it is meant to survive.

What it does:

- The five services run as real processes (``crm_platform.testing.ServiceProcess``) on a
  private PostgreSQL server started by the run on a free port
  (``crm_platform.testing_faults.PrivatePostgres``: it can be stopped without disturbing
  anything else on the machine) and on a vhost of their own. They get a short retry schedule
  (``CRM_CONSUMER_RETRY_DELAYS_MS=[500, 1000, 2000]``, 4 attempts: about 3.5 s) so that
  "longer than the retry schedule" stays short.
- A steady open-loop load through the gateway: ``POST /api/v1/customers`` and
  ``PATCH /api/v1/customers/{id}`` (a stale version's 409 re-reads the customer and moves on).
  Failed requests during faults (5xx, connection errors, timeouts) are expected and counted.
- Meanwhile, in turn (repeated while ``--duration`` lasts; ``--short``: once each):
  ``kill:<service>`` SIGKILL and restart each service (customers in the middle of a burst of
  creations, some answered, others in flight: mid-commit); ``broker:close_connections``
  (``rabbitmqctl close_all_connections``); ``broker:restart`` (``stop_app`` / ``start_app``);
  ``database:unreachable`` (the private server stopped, ``-m immediate``, for longer than the
  retry schedule, also in the middle of a burst, so that events committed just before are on
  their way to the consumers); ``handler:failing`` (a trigger on engagement's
  ``customer_replica`` raises for a while shorter than the retry schedule, so every event
  must get through on a retry). After each, the run waits until every ``/readyz`` is 200.
- Then, after waiting (bounded) for the system to settle, it measures against the customers
  database, the source of truth (a SIGKILL can commit a customer whose 201 never left):
  ``lost`` per service: engagement's and service-desk's replica missing a customer or holding
  another version than the customers database; the notifier's inbox missing a
  ``customer.created`` event of the customers' outbox; for customers itself, a 201 or 200
  answered whose customer or version is not in its database. ``duplicated``: ledgers filled by
  triggers installed before the load (an inbox insert or a replica version written twice).
  ``parked``: messages in ``<service>.events.parked``. ``outbox_backlog``: unpublished outbox
  rows in the five databases.

Results: a table on stdout, ``bench/results/chaos-<UTC stamp>.json`` and
``bench/results/chaos-latest.json`` (keys ``created``, ``lost``, ``duplicated``, ``parked``,
``outbox_backlog``, ``faults`` and details). The exit status is 1 when anything was lost,
duplicated or parked, or the backlog is not 0. Service logs stay in ``var/chaos-logs/``.

It stops and starts the RabbitMQ application of this machine: nothing else may use the broker
meanwhile. Run it under ``flock /tmp/crm-broker.lock`` (the test suite's runs take the same
lock). Everything it creates (the PostgreSQL directory, the vhost) is removed in a
``finally``, and the broker is started again whatever happens.

Run from the repository root: ``uv run --frozen python bench/chaos.py [--short]`` (or
``make chaos``); ``--help`` lists the knobs. ``tests/test_chaos.py`` runs ``--short``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:  # `python bench/chaos.py` and `import bench.chaos`
    sys.path.insert(0, str(BENCH_DIR))

import aio_pika  # noqa: E402
import asyncpg  # noqa: E402
import httpx  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from reporting import git_revision, write_results  # noqa: E402

from crm_gateway.settings import DEV_ADMIN_PASSWORD, DEV_ADMIN_USERNAME  # noqa: E402
from crm_platform.testing import (  # noqa: E402
    ServiceProcess,
    create_vhost,
    delete_vhost,
    run_id,
    sign_in,
)
from crm_platform.testing_faults import (  # noqa: E402
    PrivatePostgres,
    broker_app_stopped,
    close_all_connections,
    failing_writes,
    install_ledgers,
    ledger_repeats,
    queue_depths,
    start_broker_app,
)

SERVICES = ("customers", "engagement", "service-desk", "notifier", "gateway")
CONSUMING = ("customers", "engagement", "service-desk", "notifier")  # have an inbox
REPLICAS = ("engagement", "service-desk")  # keep customer_replica
REPORTED = ("customers", "engagement", "service-desk", "notifier")  # rows of the table
FAILING_HANDLER_SERVICE = "engagement"
FAULTS = (
    "kill:customers",
    "kill:engagement",
    "kill:service-desk",
    "kill:notifier",
    "kill:gateway",
    "broker:close_connections",
    "broker:restart",
    "database:unreachable",
    "handler:failing",
)

RETRY_DELAYS_MS = [500, 1000, 2000]
MAX_ATTEMPTS = 4  # first try + one per delay: parked about 3.5 s after the first failure
RETRY_SCHEDULE_SECONDS = sum(RETRY_DELAYS_MS) / 1000
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
READY_TIMEOUT_SECONDS = 90.0
CONVERGENCE_POLL_SECONDS = 2.0
BURST_CREATIONS = 24  # started at once just before customers is killed or the database stops
STALL_SECONDS = 20.0  # a backlog unchanged this long, nothing in the queues: stuck
LOG_DIR = REPO_ROOT / "var" / "chaos-logs"

CITIES = ("杭州", "上海", "北京", "深圳", "广州", "苏州", "南京", "成都", "武汉", "宁波", "厦门")
CITIES += ("西安", "青岛", "合肥", "长沙", "无锡")
TRADE_CHARS = (
    "华信达通远恒泰瑞安宏鑫盛嘉源丰博创新智联天海金德兴中昌和永隆景明晨光辰星云帆"
    "启航睿思卓越佳诚合众鼎立万象长青凯锐腾飞宇阳科锦"
)
BUSINESSES = ("科技", "信息技术", "贸易", "电子", "软件", "网络科技", "物流", "咨询")
BUSINESSES += ("机械制造", "新材料", "医疗器械", "环保科技")
FORMS = ("有限公司", "股份有限公司")
REMARKS = ("客户关注交付周期", "已安排技术交流", "预算审批中", "等待采购决策", "需要补充报价")


def _env_name(service: str) -> str:
    return service.upper().replace("-", "_")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """How long, how fast, and how each fault is shaped."""

    mode: str
    duration_seconds: float  # the load; faults repeat while it lasts (0: one round, then stop)
    create_rate: float  # creations per second, open loop
    update_rate: float  # updates per second, open loop
    settle_seconds: float  # between faults (and before the first)
    broker_down_seconds: float
    database_down_seconds: float  # must exceed RETRY_SCHEDULE_SECONDS
    handler_failure_seconds: float  # must stay below RETRY_SCHEDULE_SECONDS
    convergence_timeout_seconds: float = 120.0

    def check(self) -> None:
        if self.database_down_seconds <= RETRY_SCHEDULE_SECONDS:
            raise ValueError(
                f"the database outage must outlast the retry schedule ({RETRY_SCHEDULE_SECONDS}s)"
            )
        if self.handler_failure_seconds >= RETRY_SCHEDULE_SECONDS:
            raise ValueError(
                f"the handler failure must end within the retry schedule"
                f" ({RETRY_SCHEDULE_SECONDS}s), or events must park"
            )


def short_plan() -> Plan:
    """One of each fault, a few events per second: what ``make test`` runs."""
    return Plan(
        mode="short",
        duration_seconds=0,
        create_rate=5.0,
        update_rate=3.0,
        settle_seconds=3.0,
        broker_down_seconds=3.0,
        database_down_seconds=12.0,
        handler_failure_seconds=2.0,
    )


def full_plan(*, duration: float, rate: float) -> Plan:
    return Plan(
        mode="full",
        duration_seconds=duration,
        create_rate=rate,
        update_rate=rate / 2,
        settle_seconds=5.0,
        broker_down_seconds=5.0,
        database_down_seconds=20.0,
        handler_failure_seconds=2.0,
    )


# --------------------------------------------------------------------------- the system


@dataclass
class ChaosSystem:
    """Five service processes on a private PostgreSQL server and a vhost of their own."""

    tag: str
    pg: PrivatePostgres = field(default_factory=PrivatePostgres)
    vhost: str = ""
    amqp_url: str = ""
    database_urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return LOG_DIR / self.tag

    def dsn(self, service: str) -> str:
        return self.pg.dsn(self.database_name(service))

    @staticmethod
    def database_name(service: str) -> str:
        return f"crm_{service.replace('-', '_')}"

    @property
    def gateway(self) -> str:
        return self.processes["gateway"].url

    async def start(self) -> None:
        await asyncio.to_thread(self.pg.start)
        for name in SERVICES:
            self.database_urls[name] = await self.pg.create_database(self.database_name(name))
        self.vhost = f"crm-chaos-{self.tag}"
        self.amqp_url = amqp_url = await asyncio.to_thread(create_vhost, self.vhost)
        self.processes = {
            name: ServiceProcess(name, env={}, log_dir=self.log_dir) for name in SERVICES
        }
        shared = {
            "CRM_AMQP_URL": amqp_url,
            "CRM_OUTBOX_SWEEP_SECONDS": "0.5",
            "CRM_CONSUMER_RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
            "CRM_CONSUMER_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "CRM_LOG_LEVEL": "WARNING",
        }
        for name, process in self.processes.items():
            process.env = {
                **shared,
                f"CRM_{_env_name(name)}_DATABASE_URL": self.database_urls[name],
                **{f"CRM_{_env_name(o)}_URL": self.processes[o].url for o in SERVICES},
            }
        # The load signs in once: its token must outlast the run, and its rate is the
        # run's, not a person's (the limit is in memory: a restarted gateway starts afresh).
        self.processes["gateway"].env |= {
            "CRM_ACCESS_TOKEN_TTL_SECONDS": str(24 * 3600),
            "CRM_RATE_LIMIT": "1000000/minute",
        }
        await asyncio.gather(*(asyncio.to_thread(p.migrate) for p in self.processes.values()))
        await self.install_ledgers()
        await asyncio.gather(
            *(p.start(ready_timeout=READY_TIMEOUT_SECONDS) for p in self.processes.values())
        )

    async def install_ledgers(self) -> None:
        for name in CONSUMING:
            replica = "customer_replica" if name in REPLICAS else None
            await install_ledgers(self.dsn(name), replica_table=replica)

    async def wait_ready(self) -> None:
        await asyncio.gather(
            *(p.wait_ready(READY_TIMEOUT_SECONDS) for p in self.processes.values())
        )

    async def kill_and_restart(self, name: str) -> None:
        process = self.processes[name]
        await asyncio.to_thread(process.kill)
        await process.start(ready_timeout=READY_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        """Stop and remove everything; each step runs even if an earlier one failed."""
        for process in self.processes.values():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(process.stop)
        try:
            await asyncio.to_thread(self.pg.cleanup)
        except Exception as exc:
            print(f"warning: could not remove {self.pg.base_dir}: {exc!r}", file=sys.stderr)
        if self.vhost:
            try:
                await asyncio.to_thread(delete_vhost, self.vhost)
            except Exception as exc:
                print(f"warning: could not delete vhost {self.vhost}: {exc!r}", file=sys.stderr)


# --------------------------------------------------------------------------- the load


class CompanyNames:
    """Unique names shaped like this CRM's customers: city + trade name + business + form."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._used: set[str] = set()

    def __call__(self) -> str:
        while True:
            trade = "".join(self._random.sample(TRADE_CHARS, 2))
            name = (
                self._random.choice(CITIES)
                + trade
                + self._random.choice(BUSINESSES)
                + self._random.choice(FORMS)
            )
            if name not in self._used:
                self._used.add(name)
                return name


def outcome_of(response: httpx.Response | BaseException) -> str:
    """A status code, or the exception's class name (ConnectError, ReadTimeout ...)."""
    if isinstance(response, httpx.Response):
        return str(response.status_code)
    return type(response).__name__


class Load:
    """Open-loop creations and updates through the gateway; remembers what was acknowledged.

    ``acknowledged`` is every customer a 2xx vouched for, with the highest version a 2xx
    returned: at the end the customers database must hold at least that."""

    def __init__(
        self,
        gateway_url: str,
        *,
        headers: dict[str, str],
        create_rate: float,
        update_rate: float,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=gateway_url,
            headers=headers,
            timeout=HTTP_TIMEOUT,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        self._rates = {"create": create_rate, "update": update_rate}
        self._names = CompanyNames()
        self.outcomes: dict[str, Counter[str]] = {
            "create": Counter(),
            "update": Counter(),
            "reread": Counter(),
        }
        self.acknowledged: dict[uuid.UUID, int] = {}
        self._known: dict[uuid.UUID, int] = {}  # the version the client believes current
        self._ids: list[uuid.UUID] = []
        self._busy: set[uuid.UUID] = set()
        self.in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._updates = 0
        self._answered = asyncio.Condition()  # notified on every 201

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(
            self._open_loop(self._rates["create"], self._create, stop),
            self._open_loop(self._rates["update"], self._update, stop),
        )

    async def _open_loop(
        self, rate: float, operation: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        """One request started every 1/rate s whatever the completions."""
        if rate <= 0:
            return
        started, sent = time.perf_counter(), 0
        while not stop.is_set():
            delay = started + sent / rate - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            sent += 1
            self._spawn(operation)

    def _spawn(self, operation: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._counted(operation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def burst(self, count: int, *, answered: int, timeout: float = 5.0) -> int:
        """Start ``count`` creations at once and return when ``answered`` of them (or any
        others) got their 201, the rest still in flight; returns how many did."""
        base = len(self.acknowledged)
        for _ in range(count):
            self._spawn(self._create)
        with contextlib.suppress(TimeoutError):
            async with self._answered:
                await asyncio.wait_for(
                    self._answered.wait_for(lambda: len(self.acknowledged) >= base + answered),
                    timeout,
                )
        return len(self.acknowledged) - base

    async def _counted(self, operation: Callable[[], Awaitable[None]]) -> None:
        self.in_flight += 1
        try:
            await operation()
        finally:
            self.in_flight -= 1

    async def _request(self, kind: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            self.outcomes[kind][outcome_of(exc)] += 1
            raise
        self.outcomes[kind][outcome_of(response)] += 1
        return response

    async def _create(self) -> None:
        body = {"kind": "enterprise", "name": self._names(), "industry": "it"}
        with contextlib.suppress(httpx.HTTPError):
            response = await self._request(
                "create", "POST", "/api/v1/customers", json=body | {"allow_duplicate": True}
            )
            if response.status_code == 201:
                self._remember(response.json(), acknowledged=True)
                self._ids.append(uuid.UUID(response.json()["id"]))
                async with self._answered:
                    self._answered.notify_all()

    def _remember(self, customer: dict[str, Any], *, acknowledged: bool) -> None:
        customer_id, version = uuid.UUID(customer["id"]), int(customer["version"])
        self._known[customer_id] = version
        if acknowledged:
            self.acknowledged[customer_id] = max(self.acknowledged.get(customer_id, 0), version)

    def _pick(self) -> uuid.UUID | None:
        """A customer no other update of this client is changing right now."""
        for _ in range(5):
            if not self._ids:
                return None
            candidate = random.choice(self._ids)
            if candidate not in self._busy:
                return candidate
        return None

    def _changes(self) -> dict[str, Any]:
        self._updates += 1
        match self._updates % 3:
            case 0:
                return {"name": self._names()}
            case 1:
                return {"remarks": f"第{self._updates}次回访 {random.choice(REMARKS)}"}
            case _:
                return {"lifecycle": random.choice(("prospect", "intent"))}

    async def _update(self) -> None:
        customer_id = self._pick()
        if customer_id is None:
            return
        self._busy.add(customer_id)
        try:
            body = {"version": self._known[customer_id], **self._changes()}
            with contextlib.suppress(httpx.HTTPError):
                url = f"/api/v1/customers/{customer_id}"
                response = await self._request("update", "PATCH", url, json=body)
                if response.status_code == 200:
                    self._remember(response.json(), acknowledged=True)
                elif response.status_code in (409, 412) or response.status_code >= 500:
                    await self._reread(customer_id)
        finally:
            self._busy.discard(customer_id)

    async def _reread(self, customer_id: uuid.UUID) -> None:
        """A stale (or unknown, after a failure) version: read the current one, move on."""
        response = await self._request("reread", "GET", f"/api/v1/customers/{customer_id}")
        if response.status_code == 200:
            self._remember(response.json(), acknowledged=False)

    async def finish(self, timeout: float = 30.0) -> None:
        """Wait for the requests still running (each has its own timeout), then close."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in set(self._tasks):
            task.cancel()
        await self._client.aclose()


# --------------------------------------------------------------------------- faults


@dataclass
class FaultRecord:
    name: str
    at_seconds: float  # since the load started
    seconds: float  # from injection until every service was ready again
    detail: dict[str, Any] = field(default_factory=dict)


class Injector:
    """Injects one named fault and waits until every service is ready again."""

    def __init__(self, system: ChaosSystem, load: Load, plan: Plan, load_started: float) -> None:
        self._system = system
        self._load = load
        self._plan = plan
        self._load_started = load_started
        self.records: list[FaultRecord] = []

    async def inject(self, name: str) -> FaultRecord:
        began = time.perf_counter()
        print(f"  [{began - self._load_started:6.1f}s] {name} ...", flush=True)
        detail = await self._dispatch(name)
        record = FaultRecord(
            name=name,
            at_seconds=round(began - self._load_started, 1),
            seconds=round(time.perf_counter() - began, 1),
            detail=detail,
        )
        self.records.append(record)
        print(f"           ready again after {record.seconds}s {detail or ''}", flush=True)
        return record

    async def _dispatch(self, name: str) -> dict[str, Any]:
        kind, _, target = name.partition(":")
        if kind == "kill":
            return await self._kill(target)
        faults: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "broker:close_connections": self._close_connections,
            "broker:restart": self._restart_broker,
            "database:unreachable": self._database_unreachable,
            "handler:failing": self._handler_failing,
        }
        return await faults[name]()

    async def _kill(self, service: str) -> dict[str, Any]:
        if service != "customers":
            await self._system.kill_and_restart(service)
            return {}
        # Mid-commit: in the middle of a burst of creations, some answered, others running.
        answered = await self._load.burst(BURST_CREATIONS, answered=BURST_CREATIONS // 3)
        in_flight = self._load.in_flight
        await self._system.kill_and_restart(service)
        return {"burst_answered_before_kill": answered, "requests_in_flight": in_flight}

    async def _close_connections(self) -> dict[str, Any]:
        await asyncio.to_thread(close_all_connections, self._system.vhost)
        await self._system.wait_ready()
        return {}

    async def _restart_broker(self) -> dict[str, Any]:
        async with broker_app_stopped():
            await asyncio.sleep(self._plan.broker_down_seconds)
        await self._system.wait_ready()
        return {"down_seconds": self._plan.broker_down_seconds}

    async def _database_unreachable(self) -> dict[str, Any]:
        """Stopped in the middle of a burst of creations, so that events committed just
        before are on their way to the consumers when their databases go."""
        pg = self._system.pg
        retried_before = await self._retried()
        answered = await self._load.burst(BURST_CREATIONS, answered=BURST_CREATIONS // 3)
        await asyncio.to_thread(pg.stop, "immediate")
        try:
            await asyncio.sleep(self._plan.database_down_seconds)
        finally:
            await asyncio.to_thread(pg.start)
        await self._system.wait_ready()
        return {
            "down_seconds": self._plan.database_down_seconds,
            "burst_answered_before_stop": answered,
            "events_retried": int(await self._retried() - retried_before),
        }

    async def _retried(self) -> float:
        """Events the consuming services sent to a retry tier so far (all of them are up)."""
        urls = [self._system.processes[name].url for name in CONSUMING]
        return sum(await asyncio.gather(*(events_consumed(url, "retried") for url in urls)))

    async def _handler_failing(self) -> dict[str, Any]:
        service = FAILING_HANDLER_SERVICE
        url = self._system.processes[service].url
        before = await events_consumed(url, "retried")
        async with failing_writes(self._system.dsn(service), "customer_replica"):
            await asyncio.sleep(self._plan.handler_failure_seconds)
        await asyncio.sleep(RETRY_SCHEDULE_SECONDS)  # the retries of the window come back
        retried = await events_consumed(url, "retried") - before
        await self._system.wait_ready()
        return {
            "service": service,
            "failing_seconds": self._plan.handler_failure_seconds,
            "events_retried": int(retried),  # > 0: the fault did hit events
        }


async def events_consumed(base_url: str, outcome: str) -> float:
    """A consumer's ``crm_events_consumed_total`` with ``outcome``, all event types."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(base_url + "/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "crm_events_consumed_total" and sample.labels["outcome"] == outcome
    )


async def inject_faults(injector: Injector, plan: Plan, load_started: float) -> None:
    """Every fault in turn, settling between them; again while the duration allows a round."""
    await asyncio.sleep(plan.settle_seconds)
    deadline = load_started + plan.duration_seconds
    while True:
        round_started = time.perf_counter()
        for name in FAULTS:
            await injector.inject(name)
            await asyncio.sleep(plan.settle_seconds)
        round_seconds = time.perf_counter() - round_started
        if time.perf_counter() + round_seconds > deadline:
            break
    remaining = deadline - time.perf_counter()
    if remaining > 0:
        print(f"  load goes on for {remaining:.0f}s more", flush=True)
        await asyncio.sleep(remaining)


# --------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    created: int
    lost: dict[str, int]
    lost_detail: dict[str, dict[str, int]]
    duplicated: dict[str, int]
    duplicated_detail: dict[str, dict[str, int]]
    parked: dict[str, int]
    outbox_backlog: int
    outbox_backlog_by_service: dict[str, int]
    outbox_pending: list[dict[str, Any]]  # unpublished rows by service, type and last error
    in_motion: int  # messages in main and retry queues
    unrouted: int  # messages of types no service consumes, where the broker keeps them
    unacknowledged: int  # customers committed whose 201 the client never got (or errored)

    @property
    def signature(self) -> tuple[Any, ...]:
        """What the run counts; unchanged between polls means nothing moved."""
        return (self.lost, self.duplicated, self.parked, self.outbox_backlog_by_service)

    @property
    def clean(self) -> bool:
        counts = [*self.lost.values(), *self.duplicated.values(), *self.parked.values()]
        return not any(counts) and self.outbox_backlog == 0


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return await connection.fetch(query)
    finally:
        await connection.close()


async def _customers_truth(system: ChaosSystem) -> tuple[dict[uuid.UUID, int], set[uuid.UUID]]:
    """Every customer (id -> version) and every ``customer.created`` event id, from the
    customers database."""
    dsn = system.dsn("customers")
    customers = {
        r["id"]: r["version"] for r in await _fetch(dsn, "SELECT id, version FROM customer")
    }
    created_events = {
        r["id"]
        for r in await _fetch(
            dsn, "SELECT id FROM outbox_message WHERE routing_key = 'customer.created'"
        )
    }
    return customers, created_events


async def _replica_lost(
    system: ChaosSystem, service: str, truth: dict[uuid.UUID, int]
) -> dict[str, int]:
    rows = await _fetch(system.dsn(service), "SELECT id, source_version FROM customer_replica")
    replica = {r["id"]: r["source_version"] for r in rows}
    missing = sum(1 for customer_id in truth if customer_id not in replica)
    stale = sum(1 for cid, version in truth.items() if cid in replica and replica[cid] != version)
    return {"missing": missing, "other_version": stale}


async def _notifier_lost(system: ChaosSystem, created_events: set[uuid.UUID]) -> dict[str, int]:
    inbox = {r["id"] for r in await _fetch(system.dsn("notifier"), "SELECT id FROM inbox_message")}
    return {"missing": len(created_events - inbox)}


def _customers_lost(load: Load, truth: dict[uuid.UUID, int]) -> dict[str, int]:
    """Writes the client was told succeeded (201, 200) that the database does not hold."""
    missing = sum(1 for customer_id in load.acknowledged if customer_id not in truth)
    behind = sum(
        1
        for customer_id, version in load.acknowledged.items()
        if customer_id in truth and truth[customer_id] < version
    )
    return {"acknowledged_missing": missing, "acknowledged_version_missing": behind}


PENDING_OUTBOX = """
    SELECT routing_key, left(coalesce(last_error, ''), 300) AS error,
           count(*) AS n, max(attempts) AS attempts
    FROM outbox_message WHERE published_at IS NULL
    GROUP BY routing_key, error ORDER BY n DESC
"""


async def _pending_outbox(system: ChaosSystem) -> list[dict[str, Any]]:
    """Unpublished outbox rows of every service, grouped by event type and last error."""
    pending = []
    for service in SERVICES:
        for row in await _fetch(system.dsn(service), PENDING_OUTBOX):
            pending.append(
                {
                    "service": service,
                    "routing_key": row["routing_key"],
                    "rows": row["n"],
                    "max_attempts": row["attempts"],
                    "last_error": row["error"],
                }
            )
    return pending


def _in_motion(queue: str) -> bool:
    """A consuming service's main or retry queue: its messages may still be handled."""
    return queue.endswith(".events") or ".events.retry." in queue


async def measure(system: ChaosSystem, load: Load) -> Measurement:
    truth, created_events = await _customers_truth(system)
    lost_detail: dict[str, dict[str, int]] = {"customers": _customers_lost(load, truth)}
    for service in REPLICAS:
        lost_detail[service] = await _replica_lost(system, service, truth)
    lost_detail["notifier"] = await _notifier_lost(system, created_events)
    duplicated_detail = {
        service: await ledger_repeats(system.dsn(service), replica=service in REPLICAS)
        for service in CONSUMING
    }
    depths = await asyncio.to_thread(queue_depths, system.vhost)
    parked = {
        queue.removesuffix(".events.parked"): n
        for queue, n in depths.items()
        if queue.endswith(".events.parked")
    }
    pending = await _pending_outbox(system)
    backlogs = {s: sum(p["rows"] for p in pending if p["service"] == s) for s in SERVICES}
    return Measurement(
        created=len(truth),
        lost={s: sum(d.values()) for s, d in lost_detail.items()},
        lost_detail=lost_detail,
        duplicated={s: sum(d.values()) for s, d in duplicated_detail.items()},
        duplicated_detail=duplicated_detail,
        parked={s: parked.get(s, 0) for s in CONSUMING},
        outbox_backlog=sum(backlogs.values()),
        outbox_backlog_by_service=backlogs,
        outbox_pending=pending,
        unacknowledged=sum(1 for customer_id in truth if customer_id not in load.acknowledged),
        in_motion=sum(n for queue, n in depths.items() if _in_motion(queue)),
        unrouted=sum(n for queue, n in depths.items() if queue.endswith(".unrouted")),
    )


async def parked_errors(system: ChaosSystem) -> list[dict[str, Any]]:
    """What the parked messages died of: taken unacked from each ``<service>.events.parked``
    and handed back when the channel closes, grouped by event type and error."""
    depths = await asyncio.to_thread(queue_depths, system.vhost)
    groups: Counter[tuple[str, str, int, str]] = Counter()
    connection = await aio_pika.connect(system.amqp_url)
    async with connection:
        channel = await connection.channel()
        for service in CONSUMING:
            name = f"{service}.events.parked"
            if not depths.get(name):
                continue
            queue = await channel.declare_queue(name, passive=True)
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                headers = message.headers or {}
                event_type = json.loads(message.body).get("type", "?")
                error = str(headers.get("x-crm-error", ""))[:300]
                groups[(service, event_type, int(headers.get("x-crm-attempt", 0)), error)] += 1
    return [
        {"service": s, "type": t, "attempts": a, "error": e, "messages": n}
        for (s, t, a, e), n in groups.most_common()
    ]


async def converge(system: ChaosSystem, load: Load, timeout: float) -> tuple[Measurement, bool]:
    """Measure until clean, until nothing can change any more, or ``timeout``.

    Nothing can change when no message is in a main or retry queue and the counts stayed the
    same between polls: with no backlog either, after two polls; with a backlog that the
    relays keep failing to publish, after ``STALL_SECONDS``. Returns the last measurement
    and whether it is clean."""
    deadline = time.perf_counter() + timeout
    previous: tuple[Any, ...] = ()
    still_since = time.perf_counter()
    while True:
        measurement = await measure(system, load)
        if measurement.clean:
            return measurement, True
        now = time.perf_counter()
        if measurement.in_motion or measurement.signature != previous:
            still_since = now
        previous = measurement.signature
        still = now - still_since
        if now > deadline or still >= STALL_SECONDS:
            return measurement, False
        if measurement.outbox_backlog == 0 and still >= CONVERGENCE_POLL_SECONDS:
            return measurement, False
        await asyncio.sleep(CONVERGENCE_POLL_SECONDS)


# --------------------------------------------------------------------------- the run


async def run(plan: Plan) -> dict[str, Any]:
    """Start everything, load, inject, converge, measure; remove everything. The result."""
    plan.check()
    started_at, t0 = datetime.now(UTC), time.perf_counter()
    system = ChaosSystem(tag=run_id())
    try:
        print(f"starting the five services on a private PostgreSQL ({system.log_dir}) ...")
        await system.start()
        setup_seconds = time.perf_counter() - t0
        admin = await sign_in(system.gateway, DEV_ADMIN_USERNAME, DEV_ADMIN_PASSWORD)
        load = Load(
            system.gateway,
            headers=admin,
            create_rate=plan.create_rate,
            update_rate=plan.update_rate,
        )
        print(
            f"load: {plan.create_rate:g} creations/s + {plan.update_rate:g} updates/s;"
            f" faults: {', '.join(FAULTS)}",
            flush=True,
        )
        load_started = time.perf_counter()
        injector = Injector(system, load, plan, load_started)
        stop = asyncio.Event()
        load_task = asyncio.create_task(load.run(stop), name="chaos-load")
        try:
            await inject_faults(injector, plan, load_started)
        finally:
            stop.set()
            await load_task
            await load.finish()
        load_seconds = time.perf_counter() - load_started
        print("waiting for the system to settle ...", flush=True)
        converge_started = time.perf_counter()
        measurement, converged = await converge(system, load, plan.convergence_timeout_seconds)
        convergence_seconds = time.perf_counter() - converge_started
        parked = await parked_errors(system) if any(measurement.parked.values()) else []
    finally:
        await system.stop()
        start_broker_app()  # should a fault have been interrupted half-way
    return {
        "benchmark": "chaos",
        "mode": plan.mode,
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "git_revision": git_revision(),
        "created": measurement.created,
        "lost": measurement.lost,
        "duplicated": measurement.duplicated,
        "parked": measurement.parked,
        "outbox_backlog": measurement.outbox_backlog,
        "faults": [record.name for record in injector.records],
        "fault_details": [dataclasses.asdict(record) for record in injector.records],
        "lost_detail": measurement.lost_detail,
        "duplicated_detail": measurement.duplicated_detail,
        "outbox_backlog_by_service": measurement.outbox_backlog_by_service,
        "outbox_pending": measurement.outbox_pending,
        "parked_errors": parked,
        "unrouted_messages": measurement.unrouted,
        "converged": converged,
        "requests": {kind: dict(counter) for kind, counter in load.outcomes.items()},
        "acknowledged_customers": len(load.acknowledged),
        "committed_without_201": measurement.unacknowledged,
        "durations_seconds": {
            "setup": round(setup_seconds, 1),
            "load": round(load_seconds, 1),
            "convergence": round(convergence_seconds, 1),
            "total": round(time.perf_counter() - t0, 1),
        },
        "plan": dataclasses.asdict(plan),
        "retry_delays_ms": RETRY_DELAYS_MS,
        "max_attempts": MAX_ATTEMPTS,
        "service_logs": str(system.log_dir),
        "pass": measurement.clean,
    }


# --------------------------------------------------------------------------- output


def _table(result: dict[str, Any]) -> list[str]:
    lines = [f"  {'service':<14}{'created':>9}{'lost':>8}{'duplicated':>12}{'parked':>8}"]
    for service in REPORTED:
        lines.append(
            f"  {service:<14}{result['created']:>9}{result['lost'].get(service, 0):>8}"
            f"{result['duplicated'].get(service, 0):>12}{result['parked'].get(service, 0):>8}"
        )
    return lines


def _backlog(result: dict[str, Any]) -> list[str]:
    lines = [f"  outbox backlog {result['outbox_backlog']}"]
    for group in result["outbox_pending"]:
        lines.append(
            f"    {group['service']}: {group['rows']} x {group['routing_key']}"
            f" (attempts up to {group['max_attempts']}) last error: {group['last_error'] or '-'}"
        )
    if result["unrouted_messages"]:
        lines.append(
            "  unrouted (types no service consumes, kept by the broker):"
            f" {result['unrouted_messages']}"
        )
    return lines


def _parked(result: dict[str, Any]) -> list[str]:
    return [
        f"  parked in {p['service']}: {p['messages']} x {p['type']} after {p['attempts']}"
        f" attempts: {p['error']}"
        for p in result["parked_errors"]
    ]


def _requests(result: dict[str, Any]) -> list[str]:
    lines = ["  requests (status or error: count):"]
    for kind, outcomes in result["requests"].items():
        listed = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "none"
        lines.append(f"    {kind:<8} {listed}")
    return lines


def _faults(result: dict[str, Any]) -> list[str]:
    lines = ["  faults injected (at s since the load began, s until all ready again):"]
    for fault in result["fault_details"]:
        detail = ", ".join(f"{k} {v}" for k, v in fault["detail"].items())
        lines.append(
            f"    {fault['at_seconds']:>6}  {fault['name']:<26}{fault['seconds']:>6}s"
            + (f"  ({detail})" if detail else "")
        )
    return lines


def summary(result: dict[str, Any]) -> str:
    durations = result["durations_seconds"]
    nonzero_detail = {
        service: {k: v for k, v in detail.items() if v}
        for service, detail in result["lost_detail"].items()
        if any(detail.values())
    }
    lines = [
        "",
        f"chaos run ({result['mode']}, {result['git_revision']})",
        *_table(result),
        f"  created = customers in the customers database; {result['acknowledged_customers']}"
        f" answered 201, {result['committed_without_201']} committed without a 201 reaching"
        " the client",
        *_backlog(result),
        *_parked(result),
        *([f"  lost in detail: {nonzero_detail}"] if nonzero_detail else []),
        *_requests(result),
        *_faults(result),
        f"  durations: setup {durations['setup']}s, load {durations['load']}s,"
        f" convergence {durations['convergence']}s"
        f" ({'converged' if result['converged'] else 'did not converge'}),"
        f" total {durations['total']}s",
        f"  service logs: {result['service_logs']}",
        "",
        f"  overall: {'PASS' if result['pass'] else 'FAIL'}",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=300.0, help="seconds of load (faults repeat meanwhile)"
    )
    parser.add_argument(
        "--rate", type=float, default=20.0, help="creations per second (updates: half as many)"
    )
    parser.add_argument(
        "--short", action="store_true", help="one of each fault, fewer events (what make test runs)"
    )
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    os.chdir(REPO_ROOT)
    plan = short_plan() if args.short else full_plan(duration=args.duration, rate=args.rate)
    import uvloop

    result = uvloop.run(run(plan))
    path = write_results("chaos", result)
    print(summary(result))
    print(f"\n  results: {path.relative_to(REPO_ROOT)} (and chaos-latest.json)")
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
