"""Event path benchmark: customer creations through the customers API to engagement's replica.

All five services run as real processes (``crm_platform.testing.ServiceProcess``) on
throwaway PostgreSQL databases and a throwaway RabbitMQ vhost, exactly as the end-to-end
tests start them. The bench drives ``POST /v1/customers`` on the customers service and
watches ``customer_replica`` in the engagement database:

(a) sustained events/s: N creations (closed loop, ``--concurrency`` in flight) from the
    first POST until the replica count reaches N (polled every 50 ms);
(b) commit-to-replica lag at a fixed 200 events/s, open loop (one POST started every
    1/rate s whatever the completions): ``replicated_at - source_event_time`` of each
    replica row (both stamped on this machine's clock, the event time inside the
    customers' transaction just before commit, the replica time in engagement's
    handler just before its commit).

In the same run it measures the bare ceiling of this machine for the same shape of work
(``bare_path.measure_bare_ceiling``: business row + outbox row -> publish with confirms ->
inbox row + replica row, no framework) and reports ours as a ratio of it. Targets: ours
>= 40% of the bare ceiling's events/s and p99 lag <= 100 ms at 200 events/s, where the
events must actually be committed at (95% of) that rate for the lag figure to count.
For information only, it also runs the bare path fanned out to three consumers, as ours is
(engagement, service-desk, notifier), and prints ours as a share of that too.

Results go to ``bench/results/event_path-<UTC timestamp>.json`` and
``bench/results/event_path-latest.json``. Everything created (five databases, one vhost)
is removed in a ``finally``.

Run from the repository root: ``uv run --frozen python bench/event_path.py``
(or ``make bench-events``); ``--help`` lists the knobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:  # `python bench/event_path.py` and `python -m bench.event_path`
    sys.path.insert(0, str(BENCH_DIR))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
import httpx  # noqa: E402
from bare_path import closed_loop, measure_bare_ceiling, open_loop  # noqa: E402
from reporting import (  # noqa: E402
    git_revision,
    percentiles_ms,
    start_profiler,
    stop_profiler,
    write_results,
)

from crm_platform.identity import mint_internal_token  # noqa: E402
from crm_platform.settings import DEV_INTERNAL_TOKEN_SECRET  # noqa: E402
from crm_platform.testing import (  # noqa: E402
    ServiceProcess,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    run_id,
    wait_until,
)

SERVICES = ("customers", "engagement", "service-desk", "notifier", "gateway")
CONSUMERS = ("engagement", "service-desk", "notifier")

TARGET_RATIO = 0.40
TARGET_P99_MS = 100.0
RATE_HELD_SHARE = 0.95  # the fixed-rate phase counts only if commits kept up with the offer
POLL_SECONDS = 0.05
DRAIN_TIMEOUT_SECONDS = 120.0
HTTP_TIMEOUT_SECONDS = 300.0
MAX_CONNECTIONS = 64
DISTURBED_OTHER_CORES = 0.3  # CPU used by other work during a phase that flags it
OUTBOX_SWEEP_SECONDS = "1.0"  # the bare relay sweeps every 1.0 s too
LOG_DIR = REPO_ROOT / "var" / "bench-logs"
CJK_FIRST, CJK_LAST = 0x4E00, 0x9FA5  # CJK Unified Ideographs (the basic block)


def _env_name(service: str) -> str:
    return service.upper().replace("-", "_")


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --------------------------------------------------------------------------- the system


@dataclass
class System:
    """Five service processes on their own vhost and databases."""

    tag: str
    vhost: str = ""
    database_names: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    async def start(self) -> None:
        self.vhost = f"bench-events-{self.tag}"
        amqp_url = await asyncio.to_thread(create_vhost, self.vhost)
        for name in SERVICES:
            db = f"bench_events_{self.tag}_{name.replace('-', '_')}"
            self.database_urls[name] = await create_database(db)
            self.database_names[name] = db
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.processes = {name: ServiceProcess(name, env={}, log_dir=LOG_DIR) for name in SERVICES}
        shared = {
            "CRM_AMQP_URL": amqp_url,
            "CRM_OUTBOX_SWEEP_SECONDS": OUTBOX_SWEEP_SECONDS,
            "CRM_LOG_LEVEL": "WARNING",
        }
        for name, process in self.processes.items():
            process.env = {
                **shared,
                f"CRM_{_env_name(name)}_DATABASE_URL": self.database_urls[name],
                **{f"CRM_{_env_name(o)}_URL": self.processes[o].url for o in SERVICES},
            }
        await asyncio.gather(*(asyncio.to_thread(p.migrate) for p in self.processes.values()))
        await asyncio.gather(*(self._start(p) for p in self.processes.values()))
        await asyncio.gather(*(self._wait_ready(n) for n in ("customers", *CONSUMERS)))

    @staticmethod
    async def _start(process: ServiceProcess) -> None:
        try:
            await process.start()
        except AssertionError:  # not healthy within 30 s: a busy machine; give it longer
            await process.wait_ready(timeout=90)

    async def _wait_ready(self, name: str) -> None:
        url = self.processes[name].url + "/readyz"

        async def ready() -> bool:
            async with httpx.AsyncClient(timeout=5) as client:
                return (await client.get(url)).status_code == 200

        await wait_until(ready, timeout=60, interval=0.2, message=f"{name} /readyz")

    def log_paths(self) -> dict[str, str]:
        return {n: str(p.log_dir / f"{p.name}-{p.port}.log") for n, p in self.processes.items()}

    async def stop(self) -> None:
        """Stop and remove everything; each step runs even if an earlier one failed."""
        for process in self.processes.values():
            with contextlib.suppress(Exception):
                await asyncio.to_thread(process.stop)
        for db in self.database_names.values():
            try:
                await drop_database(db)
            except Exception as exc:
                print(f"warning: could not drop database {db}: {exc!r}", file=sys.stderr)
        if self.vhost:
            try:
                await asyncio.to_thread(delete_vhost, self.vhost)
            except Exception as exc:
                print(f"warning: could not delete vhost {self.vhost}: {exc!r}", file=sys.stderr)


# --------------------------------------------------------------------------- CPU accounting


class CpuMeter:
    """CPU seconds per process group from /proc (Linux), to see where an event's CPU goes.

    A background task samples every ``SAMPLE_SECONDS`` and adds up each process's
    increments, so processes that start and exit during a phase (database connections
    opened and closed by a pool) are counted too, less their last fraction of a period.
    PostgreSQL is split into the backends of this run's databases (their process title
    names the database: ``pg_match``) and the shared background processes (WAL writer,
    checkpointer, ...); other databases' backends are not counted. RabbitMQ is one
    process shared with anything else on the machine. ``other_cores`` (machine busy
    minus what is accounted here) says how disturbed a phase was by other work.
    """

    SAMPLE_SECONDS = 0.25
    PG_SHARED = ("checkpointer", "background writer", "walwriter", "autovacuum launcher")

    def __init__(self, pids: dict[str, int], *, pg_match: str) -> None:
        self._groups_by_pid = {pid: name for name, pid in pids.items()}
        self._names = [*pids, "postgres", "postgres_shared", "rabbitmq"]
        self._pg_match = pg_match
        self._tick = os.sysconf("SC_CLK_TCK")
        self._last: dict[tuple[int, int], float] = {}
        self._last_group: dict[tuple[int, int], str] = {}
        self._totals: dict[str, float] = {}
        self._start_ticks = 0.0
        self._task: asyncio.Task[None] | None = None
        self._begin: tuple[float, float] = (0.0, 0.0)

    def _machine_busy(self) -> float:
        with open("/proc/stat") as f:
            ticks = list(map(int, f.readline().split()[1:]))
        return (sum(ticks) - ticks[3] - ticks[4]) / self._tick

    def _group_of(self, pid: int) -> str | None:
        if pid in self._groups_by_pid:
            return self._groups_by_pid[pid]
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return None
        if cmdline.startswith("postgres:"):
            if self._pg_match in cmdline:
                return "postgres"
            if cmdline.rstrip().endswith(self.PG_SHARED):
                return "postgres_shared"
        elif "beam.smp" in cmdline and "-s rabbit boot" in cmdline:
            return "rabbitmq"
        return None

    def _sample(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            cpu = (int(fields[11]) + int(fields[12])) / self._tick
            key = (pid, int(fields[19]))  # pid + start time: a reused pid is a new process
            if key in self._last:
                group = self._last_group[key]
                self._totals[group] += cpu - self._last[key]
                self._last[key] = cpu
                continue
            group = self._group_of(pid)
            if group is None:
                continue
            # Started since the meter did: all its CPU is ours; else count from now on.
            started_after = int(fields[19]) >= self._start_ticks
            if started_after:
                self._totals[group] += cpu
            self._last[key] = cpu
            self._last_group[key] = group

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.SAMPLE_SECONDS)
            self._sample()

    def start(self) -> bool:
        try:
            with open("/proc/uptime") as f:
                self._start_ticks = float(f.read().split()[0]) * self._tick
            self._totals = dict.fromkeys(self._names, 0.0)
            self._last, self._last_group = {}, {}
            self._begin = (time.perf_counter(), self._machine_busy())
            self._sample()
        except OSError:
            return False
        self._task = asyncio.create_task(self._run(), name="cpu-meter")
        return True

    async def stop(self, events: int) -> dict[str, Any] | None:
        if self._task is None:
            return None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._sample()
        wall = time.perf_counter() - self._begin[0]
        machine = self._machine_busy() - self._begin[1]
        ours = sum(self._totals.values())
        return {
            "wall_seconds": round(wall, 3),
            "ms_per_event": {k: round(1000 * v / events, 2) for k, v in self._totals.items()},
            "ms_per_event_total": round(1000 * ours / events, 2),
            "cores_used_by_run": round(ours / wall, 2),
            "machine_busy_cores": round(machine / wall, 2),
            "other_cores": round(max(machine - ours, 0.0) / wall, 2),
        }


# --------------------------------------------------------------------------- the load


@dataclass(frozen=True, slots=True)
class Created:
    customer_id: uuid.UUID
    sent_wall: float  # time.time() just before the request was sent
    sent_mono: float  # time.perf_counter() at the same moment
    done_wall: float  # time.time() once the 201 was read
    done_mono: float


def company_name() -> str:
    """A name shaped like the customers this CRM keeps: 杭州 + a four-character trade name +
    科技有限公司, the trade name drawn from the CJK block so no two are similar.

    Unique names matter because the customers service refuses a name too similar to an
    existing customer's (soft duplicates), and a real creation runs that check. They used to
    be ``Bench <32 hex digits>``: a 16-symbol alphabet has only 4,096 trigrams, so each new
    name shared trigrams with a fixed share of all earlier rows and the trigram check grew
    with the table (0.5 ms of PostgreSQL per create at 5,000 rows, 4 ms at 50,000), which
    real names do not do. Every name here still shares the city and company-form trigrams
    with every other one, as real names do.
    """
    trade_name = "".join(chr(random.randint(CJK_FIRST, CJK_LAST)) for _ in range(4))
    return f"杭州{trade_name}科技有限公司"


class CustomersClient:
    """The load's HTTP client: aiohttp, whose per-request CPU is a fraction of httpx's.

    The bench shares the machine's two cores with the system it measures, so the client's own
    cost is taken from the services; it was the biggest single item after the services.
    """

    def __init__(self, base_url: str, *, connections: int) -> None:
        token = mint_internal_token(
            DEV_INTERNAL_TOKEN_SECRET, subject="bench", roles=["admin"], ttl_seconds=3600
        )
        self._url = base_url + "/v1/customers"
        self._headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        # uvicorn closes idle keep-alive connections after 5 s; drop ours first so a POST
        # never lands on a connection the server is closing.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=2.0),
            # An overloaded service answers late but answers: wait rather than fail the run.
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS),
        )
        self._slots = asyncio.Semaphore(connections)

    async def create(self) -> Created:
        body = json.dumps({"kind": "enterprise", "name": company_name(), "industry": "it"})
        sent_wall, sent_mono = time.time(), time.perf_counter()
        # Wait for a connection here (FIFO, cheap); the wait still counts in this request's time.
        async with (
            self._slots,
            self._session.post(self._url, data=body, headers=self._headers) as response,
        ):
            payload = await response.read()
            status = response.status
        done_mono, done_wall = time.perf_counter(), time.time()
        if status != 201:
            raise RuntimeError(f"POST /v1/customers -> {status}: {payload[:500]!r}")
        return Created(
            uuid.UUID(json.loads(payload)["id"]), sent_wall, sent_mono, done_wall, done_mono
        )

    async def aclose(self) -> None:
        await self._session.close()


class ReplicaWatch:
    """Counts engagement's replica rows over one held connection (the bench owns the DB)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def count(self) -> int:
        return int(await self._conn.fetchval("SELECT count(*) FROM customer_replica"))

    async def wait_for(self, target: int) -> float:
        """Poll until ``target`` rows exist; return the perf_counter() when seen."""
        deadline = time.perf_counter() + DRAIN_TIMEOUT_SECONDS
        while True:
            seen = await self.count()
            now = time.perf_counter()
            if seen >= target:
                return now
            if now > deadline:
                raise RuntimeError(
                    f"replica not drained after {DRAIN_TIMEOUT_SECONDS}s: {seen}/{target}"
                )
            await asyncio.sleep(POLL_SECONDS)


# --------------------------------------------------------------------------- stage timings


async def stage_breakdown(system: System, created: Sequence[Created]) -> dict[str, Any]:
    """Per-event timestamps from the three databases, joined on customer and event ids.

    customer.created_at      start of create_customer (before its checks and the code serial)
    event time               CloudEvent.time: the event staged, late in the txn, before commit
    outbox.published_at      relay's clock after the broker confirmed the whole batch
    inbox.received_at        engagement handler transaction start (inbox insert)
    replica.replicated_at    engagement handler, before its commit
    """
    ids = [c.customer_id for c in created]
    customers = await asyncpg.connect(_dsn(system.database_urls["customers"]))
    engagement = await asyncpg.connect(_dsn(system.database_urls["engagement"]))
    try:
        wanted = set(ids)
        outbox = []
        for row in await customers.fetch(
            "SELECT id, body, published_at, attempts FROM outbox_message"
            " WHERE routing_key = 'customer.created'"
        ):
            customer_id = uuid.UUID(json.loads(row["body"])["data"]["id"])
            if customer_id in wanted:
                outbox.append({**dict(row), "event_id": row["id"], "customer_id": customer_id})
        created_at = {
            r["id"]: r["created_at"]
            for r in await customers.fetch(
                "SELECT id, created_at FROM customer WHERE id = ANY($1::uuid[])", ids
            )
        }
        for row in outbox:
            row["customer_created_at"] = created_at[row["customer_id"]]
        replicas = {
            r["id"]: r
            for r in await engagement.fetch(
                "SELECT id, source_event_time, replicated_at FROM customer_replica"
                " WHERE id = ANY($1::uuid[])",
                ids,
            )
        }
        inbox = {
            r["id"]: r["received_at"]
            for r in await engagement.fetch(
                "SELECT id, received_at FROM inbox_message WHERE id = ANY($1::uuid[])",
                [r["event_id"] for r in outbox],
            )
        }
    finally:
        await customers.close()
        await engagement.close()

    by_customer = {r["customer_id"]: r for r in outbox}
    stages: dict[str, list[float]] = {
        "http_request": [],
        "business_txn_until_event": [],
        "event_to_published": [],
        "published_to_handler_start": [],
        "handler_start_to_replicated": [],
        "lag_source_event_to_replica": [],
        "lag_http_response_to_replica": [],
    }
    batches: set[datetime] = set()
    event_times: list[datetime] = []
    retried = 0
    for c in created:
        o, rep = by_customer.get(c.customer_id), replicas.get(c.customer_id)
        stages["http_request"].append(c.done_mono - c.sent_mono)
        if o is None or rep is None:
            continue
        event_time = rep["source_event_time"]
        event_times.append(event_time)
        stages["business_txn_until_event"].append(
            (event_time - o["customer_created_at"]).total_seconds()
        )
        stages["lag_source_event_to_replica"].append(
            (rep["replicated_at"] - event_time).total_seconds()
        )
        stages["lag_http_response_to_replica"].append(
            rep["replicated_at"].timestamp() - c.done_wall
        )
        retried += int(o["attempts"] > 0)
        if o["published_at"] is not None:
            batches.add(o["published_at"])
            stages["event_to_published"].append((o["published_at"] - event_time).total_seconds())
            received = inbox.get(o["event_id"])
            if received is not None:
                stages["published_to_handler_start"].append(
                    (received - o["published_at"]).total_seconds()
                )
                stages["handler_start_to_replicated"].append(
                    (rep["replicated_at"] - received).total_seconds()
                )
    result: dict[str, Any] = {name: percentiles_ms(v) for name, v in stages.items()}
    # The rate the events were actually committed at: an open loop offers a rate, but a
    # service that cannot keep up commits slower, and its lag is then a lag at that rate.
    span = (max(event_times) - min(event_times)).total_seconds() if len(event_times) > 1 else 0
    result["committed_events_per_second"] = (
        round((len(event_times) - 1) / span, 1) if span else None
    )
    result["relay_batches"] = len(batches)
    result["mean_relay_batch"] = round(len(created) / len(batches), 2) if batches else None
    result["outbox_rows_with_failed_attempts"] = retried
    result["missing_replicas"] = len(created) - len(replicas)
    return result


# --------------------------------------------------------------------------- phases


async def measure_ours(
    system: System,
    *,
    warmup_events: int,
    sustained_events: int,
    concurrency: int,
    lag_rate: float,
    lag_seconds: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    # Past the connection limit, open-loop requests queue in the client (their wait is in
    # http_request) instead of piling up in the service until its pool times out.
    client = CustomersClient(
        system.processes["customers"].url, connections=max(MAX_CONNECTIONS, concurrency)
    )
    watch_conn = await asyncpg.connect(_dsn(system.database_urls["engagement"]))
    watch = ReplicaWatch(watch_conn)
    meter = CpuMeter(
        {name: p.process.pid for name, p in system.processes.items() if p.process}
        | {"bench": os.getpid()},
        pg_match=f"bench_events_{system.tag}_",
    )
    try:
        # --- warm-up (excluded) -------------------------------------------
        base = await watch.count()
        await closed_loop(client.create, warmup_events, concurrency)
        await watch.wait_for(base + warmup_events)

        # --- (a) sustained throughput -------------------------------------
        base = await watch.count()
        meter.start()
        profiler = start_profiler(system.processes["customers"], profile) if profile else None
        first_post = time.perf_counter()
        sustained = await closed_loop(client.create, sustained_events, concurrency)
        posts_done = time.perf_counter()
        if profiler:
            stop_profiler(profiler, profile)
        drained = await watch.wait_for(base + sustained_events)
        sustained_cpu = await meter.stop(sustained_events)
        sustained_seconds = drained - first_post
        producer_seconds = posts_done - first_post
        sustained_stages = await stage_breakdown(system, sustained)
        print(
            f"  sustained: {sustained_events / sustained_seconds:.1f} events/s "
            f"({sustained_events / producer_seconds:.1f} creations/s at the API)",
            flush=True,
        )

        # --- (b) lag at a fixed, open-loop rate ---------------------------
        base = await watch.count()
        meter.start()
        lag_events, worst_lateness = await open_loop(client.create, lag_rate, lag_seconds)
        await watch.wait_for(base + len(lag_events))
        lag_cpu = await meter.stop(len(lag_events))
        lag_stages = await stage_breakdown(system, lag_events)
    finally:
        await client.aclose()
        await watch_conn.close()

    return {
        "sustained_events_per_second": round(sustained_events / sustained_seconds, 1),
        "sustained_events": sustained_events,
        "sustained_seconds": round(sustained_seconds, 3),
        "sustained_basis": "first POST sent -> replica count reached N (polled every 50 ms)",
        "sustained_http_events_per_second": round(sustained_events / producer_seconds, 1),
        "sustained_stages_ms": sustained_stages,
        "sustained_cpu": sustained_cpu,
        "lag_ms": lag_stages["lag_source_event_to_replica"],
        "lag_basis": "customer_replica.replicated_at - source_event_time (same machine clock)",
        "lag_rate": lag_rate,
        "lag_seconds": lag_seconds,
        "lag_schedule_worst_lateness_ms": round(worst_lateness * 1000, 2),
        "lag_stages_ms": lag_stages,
        "lag_cpu": lag_cpu,
        "warmup_events": warmup_events,
        "concurrency": concurrency,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    print(
        f"bare ceiling: {args.sustained_events} sustained + {args.lag_rate:g}/s "
        f"x {args.lag_seconds:g}s ...",
        flush=True,
    )
    bare_meter = CpuMeter({"bench": os.getpid()}, pg_match=" bench_bare_")
    bare_meter.start()
    try:
        bare = await measure_bare_ceiling(
            sustained_events=args.sustained_events,
            lag_rate=args.lag_rate,
            lag_seconds=args.lag_seconds,
        )
    finally:
        bare_cpu = await bare_meter.stop(1)
    if bare_cpu is not None:
        # The whole bare run (set-up, warm-up and both phases), per event.
        events = bare["warmup_events"] + bare["sustained_events"] + bare["lag_ms"]["count"]
        bare_cpu["ms_per_event"] = {
            k: round(v / events, 2) for k, v in bare_cpu["ms_per_event"].items()
        }
        bare_cpu["ms_per_event_total"] = round(bare_cpu["ms_per_event_total"] / events, 2)
    bare["cpu_whole_run"] = bare_cpu
    print(
        f"  bare: {bare['sustained_events_per_second']} events/s, "
        f"lag p99 {bare['lag_ms']['p99']} ms",
        flush=True,
    )

    # Information, not the target: the same bare path fanned out to as many consuming
    # services as ours (engagement, service-desk, notifier), each its own queue and database.
    print(f"bare path fanned out to {len(CONSUMERS)} consumers ...", flush=True)
    bare_fan_out = await measure_bare_ceiling(
        sustained_events=args.sustained_events,
        lag_rate=args.lag_rate,
        lag_seconds=2.0,
        consumers=len(CONSUMERS),
    )
    bare["same_fan_out_sustained_events_per_second"] = bare_fan_out["sustained_events_per_second"]
    print(f"  bare, fanned out: {bare_fan_out['sustained_events_per_second']} events/s", flush=True)

    system = System(tag=run_id())
    try:
        print("starting the five services ...", flush=True)
        await system.start()
        print(
            f"ours: {args.warmup_events} warm-up + {args.sustained_events} sustained "
            f"(concurrency {args.concurrency}) + {args.lag_rate:g}/s x {args.lag_seconds:g}s "
            "...",
            flush=True,
        )
        ours = await measure_ours(
            system,
            warmup_events=args.warmup_events,
            sustained_events=args.sustained_events,
            concurrency=args.concurrency,
            lag_rate=args.lag_rate,
            lag_seconds=args.lag_seconds,
            profile=args.profile_customers,
        )
        ours["profiled"] = args.profile_customers is not None
        ours["service_logs"] = system.log_paths()
    finally:
        await system.stop()

    ratio = ours["sustained_events_per_second"] / bare["sustained_events_per_second"]
    p99 = float(ours["lag_ms"]["p99"])
    committed_rate = ours["lag_stages_ms"]["committed_events_per_second"] or 0.0
    rate_held = committed_rate >= RATE_HELD_SHARE * args.lag_rate
    checks = {
        "throughput_ratio": {
            "value": round(ratio, 3),
            "target": f">= {TARGET_RATIO}",
            "pass": ratio >= TARGET_RATIO,
        },
        "lag_p99_ms": {
            "value": p99,
            "target": f"<= {TARGET_P99_MS}",
            "committed_events_per_second": committed_rate,
            "rate_held": rate_held,
            # A lag measured at a lower rate than asked for does not meet the target.
            "pass": p99 <= TARGET_P99_MS and rate_held,
        },
    }
    return {
        "benchmark": "event_path",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "git_revision": git_revision(),
        "ours": ours,
        "bare": bare,
        "ratio_to_bare": round(ratio, 3),
        "ratio_to_bare_same_fan_out": round(
            ours["sustained_events_per_second"] / bare["same_fan_out_sustained_events_per_second"],
            3,
        ),
        "targets": checks,
        "pass": all(c["pass"] for c in checks.values()),
        "event_loop": type(asyncio.get_running_loop()).__module__,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def _stage_lines(title: str, stages: dict[str, Any]) -> list[str]:
    lines = [f"  {title}, p50 / p95 / p99 ms:"]
    for name, stage in stages.items():
        if isinstance(stage, dict) and "p50" in stage:
            lines.append(
                f"    {name:<30} {stage['p50']:>9} / {stage['p95']:>9} / {stage['p99']:>9}"
            )
    lines.append(
        f"    relay batches {stages['relay_batches']} (mean {stages['mean_relay_batch']} events),"
        f" outbox rows retried {stages['outbox_rows_with_failed_attempts']},"
        f" missing replicas {stages['missing_replicas']}"
    )
    return lines


def _cpu_lines(title: str, cpu: dict[str, Any] | None) -> list[str]:
    if not cpu:
        return []
    per = ", ".join(f"{k} {v}" for k, v in cpu["ms_per_event"].items())
    line = (
        f"  CPU {title}: {cpu['ms_per_event_total']} ms/event ({per});"
        f" run {cpu['cores_used_by_run']} cores, machine {cpu['machine_busy_cores']} cores"
    )
    if cpu["other_cores"] >= DISTURBED_OTHER_CORES:
        line += f"\n    WARNING: {cpu['other_cores']} cores used by other work: disturbed, rerun"
    return [line]


def summary(result: dict[str, Any]) -> str:
    ours, bare = result["ours"], result["bare"]
    lag, blag = ours["lag_ms"], bare["lag_ms"]
    mark = {True: "PASS", False: "FAIL"}
    t = result["targets"]
    lines = [
        "",
        f"event path benchmark ({result['event_loop']}, {result['machine']['cpu_count']} CPUs,"
        f" {result['git_revision']})",
        "                               ours          bare",
        f"  sustained events/s     {ours['sustained_events_per_second']:>10}    "
        f"{bare['sustained_events_per_second']:>10}",
        f"  lag p50 ms             {lag['p50']:>10}    {blag['p50']:>10}"
        f"   (open loop, {ours['lag_rate']:g} events/s for {ours['lag_seconds']:g} s)",
        f"  lag p95 ms             {lag['p95']:>10}    {blag['p95']:>10}",
        f"  lag p99 ms             {lag['p99']:>10}    {blag['p99']:>10}",
        f"  lag max ms             {lag['max']:>10}    {blag['max']:>10}",
        "",
        f"  ratio ours/bare   {t['throughput_ratio']['value']:.1%}"
        f"  (target >= {TARGET_RATIO:.0%})  {mark[t['throughput_ratio']['pass']]}",
        f"    for information: bare fanned out to {len(CONSUMERS)} consumers"
        f" {bare['same_fan_out_sustained_events_per_second']} events/s,"
        f" ours {result['ratio_to_bare_same_fan_out']:.1%} of it",
        f"  p99 lag           {t['lag_p99_ms']['value']} ms"
        f"  (target <= {TARGET_P99_MS:g} ms)  {mark[t['lag_p99_ms']['pass']]}",
        f"    commits during the fixed-rate phase: {t['lag_p99_ms']['committed_events_per_second']}"
        f" events/s of {ours['lag_rate']:g} offered"
        + ("" if t["lag_p99_ms"]["rate_held"] else " (did not keep up: the lag is at that rate)"),
        "",
        f"  sustained phase: the API took {ours['sustained_http_events_per_second']}"
        f" creations/s ({ours['concurrency']} in flight);"
        f" fixed-rate phase: worst schedule lateness {ours['lag_schedule_worst_lateness_ms']} ms",
        *_stage_lines("stages at the fixed rate", ours["lag_stages_ms"]),
        *_stage_lines("stages under sustained load", ours["sustained_stages_ms"]),
        *_cpu_lines("sustained (ours)", ours.get("sustained_cpu")),
        *_cpu_lines("fixed rate (ours)", ours.get("lag_cpu")),
        *_cpu_lines("whole bare run", bare.get("cpu_whole_run")),
        "",
        f"  overall: {mark[result['pass']]}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sustained-events", type=int, default=3000)
    parser.add_argument("--warmup-events", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32, help="POSTs in flight (a)")
    parser.add_argument("--lag-rate", type=float, default=200.0)
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument(
        "--no-uvloop",
        action="store_true",
        help="use asyncio's default loop (the services run on uvloop)",
    )
    parser.add_argument(
        "--profile-customers",
        type=Path,
        metavar="FILE",
        help="py-spy the customers process during (a) into FILE (collapsed stacks)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    os.chdir(REPO_ROOT)

    if args.no_uvloop:
        result = asyncio.run(run(args))
    else:
        import uvloop

        result = uvloop.run(run(args))
    path = write_results("event_path", result)
    print(summary(result))
    print(f"\n  results: {path.relative_to(REPO_ROOT)} (and event_path-latest.json)")
    if args.check and not result["pass"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
