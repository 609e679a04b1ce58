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
>= 40% of the bare ceiling's events/s and p99 lag <= 100 ms at 200 events/s.

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
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:  # `python bench/event_path.py` and `python -m bench.event_path`
    sys.path.insert(0, str(BENCH_DIR))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from bare_path import measure_bare_ceiling  # noqa: E402

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
POLL_SECONDS = 0.05
DRAIN_TIMEOUT_SECONDS = 120.0
OUTBOX_SWEEP_SECONDS = "1.0"  # the bare relay sweeps every 1.0 s too
RESULTS_DIR = BENCH_DIR / "results"
LOG_DIR = REPO_ROOT / "var" / "bench-logs"


def _env_name(service: str) -> str:
    return service.upper().replace("-", "_")


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _percentiles_ms(values_s: Sequence[float]) -> dict[str, float | int]:
    if len(values_s) < 2:
        return {"count": len(values_s)}
    cuts = statistics.quantiles(values_s, n=100, method="inclusive")
    return {
        "p50": round(cuts[49] * 1000, 2),
        "p95": round(cuts[94] * 1000, 2),
        "p99": round(cuts[98] * 1000, 2),
        "max": round(max(values_s) * 1000, 2),
        "mean": round(statistics.fmean(values_s) * 1000, 2),
        "count": len(values_s),
    }


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
        await asyncio.gather(*(p.start() for p in self.processes.values()))
        await asyncio.gather(*(self._wait_ready(n) for n in ("customers", *CONSUMERS)))

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


# --------------------------------------------------------------------------- the load


@dataclass(frozen=True, slots=True)
class Created:
    customer_id: uuid.UUID
    sent_wall: float  # time.time() just before the request was sent
    sent_mono: float  # time.perf_counter() at the same moment
    done_wall: float  # time.time() once the 201 was read
    done_mono: float


class CustomersClient:
    def __init__(self, base_url: str, *, connections: int) -> None:
        token = mint_internal_token(
            DEV_INTERNAL_TOKEN_SECRET, subject="bench", roles=["admin"], ttl_seconds=3600
        )
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={"authorization": f"Bearer {token}"},
            # uvicorn closes idle keep-alive connections after 5 s; drop ours first so a
            # POST never lands on a connection the server is closing (httpx.ReadError).
            limits=httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=connections,
                keepalive_expiry=2.0,
            ),
            timeout=httpx.Timeout(60.0),
        )
        self._seq = 0

    async def create(self) -> Created:
        self._seq += 1
        body = {"kind": "enterprise", "name": f"Bench customer {self._seq}", "industry": "it"}
        sent_wall, sent_mono = time.time(), time.perf_counter()
        response = await self._client.post("/v1/customers", json=body)
        done_mono, done_wall = time.perf_counter(), time.time()
        if response.status_code != 201:
            raise RuntimeError(f"POST /v1/customers -> {response.status_code}: {response.text}")
        return Created(uuid.UUID(response.json()["id"]), sent_wall, sent_mono, done_wall, done_mono)

    async def aclose(self) -> None:
        await self._client.aclose()


async def closed_loop(
    create: Callable[[], Awaitable[Created]], count: int, concurrency: int
) -> list[Created]:
    """``concurrency`` workers creating ``count`` customers back to back."""
    todo = iter(range(count))
    created: list[Created] = []

    async def worker() -> None:
        for _ in todo:
            created.append(await create())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return created


async def open_loop(
    create: Callable[[], Awaitable[Created]], rate: float, seconds: float
) -> tuple[list[Created], float]:
    """Start one creation every 1/rate s regardless of completions (no coordinated
    omission). Returns the creations and the worst start lateness in seconds."""
    count = round(rate * seconds)
    start = time.perf_counter()
    tasks: list[asyncio.Task[Created]] = []
    worst_lateness = 0.0
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        worst_lateness = max(worst_lateness, time.perf_counter() - due)
        tasks.append(asyncio.create_task(create()))
    return list(await asyncio.gather(*tasks)), worst_lateness


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

    customer.created_at      start of create_customer (before the code serial is taken)
    event time               CloudEvent.time, after the serial, before flush and commit
    outbox.published_at      relay's clock after the broker confirmed the whole batch
    inbox.received_at        engagement handler transaction start (inbox insert)
    replica.replicated_at    engagement handler, before its commit
    """
    ids = [c.customer_id for c in created]
    customers = await asyncpg.connect(_dsn(system.database_urls["customers"]))
    engagement = await asyncpg.connect(_dsn(system.database_urls["engagement"]))
    try:
        outbox = await customers.fetch(
            """
            SELECT o.id AS event_id, (o.body::jsonb -> 'data' ->> 'id')::uuid AS customer_id,
                   c.created_at AS customer_created_at, o.created_at AS outbox_created_at,
                   o.published_at, o.attempts
            FROM outbox_message o
            JOIN customer c ON c.id = (o.body::jsonb -> 'data' ->> 'id')::uuid
            WHERE c.id = ANY($1::uuid[])
            """,
            ids,
        )
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
        "serial_wait": [],
        "event_to_published": [],
        "published_to_handler_start": [],
        "handler_start_to_replicated": [],
        "lag_source_event_to_replica": [],
        "lag_http_response_to_replica": [],
    }
    batches: set[datetime] = set()
    retried = 0
    for c in created:
        o, rep = by_customer.get(c.customer_id), replicas.get(c.customer_id)
        stages["http_request"].append(c.done_mono - c.sent_mono)
        if o is None or rep is None:
            continue
        event_time = rep["source_event_time"]
        stages["serial_wait"].append((event_time - o["customer_created_at"]).total_seconds())
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
    result: dict[str, Any] = {name: _percentiles_ms(v) for name, v in stages.items()}
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
) -> dict[str, Any]:
    client = CustomersClient(system.processes["customers"].url, connections=max(256, concurrency))
    watch_conn = await asyncpg.connect(_dsn(system.database_urls["engagement"]))
    watch = ReplicaWatch(watch_conn)
    try:
        # --- warm-up (excluded) -------------------------------------------
        base = await watch.count()
        await closed_loop(client.create, warmup_events, concurrency)
        await watch.wait_for(base + warmup_events)

        # --- (a) sustained throughput -------------------------------------
        base = await watch.count()
        first_post = time.perf_counter()
        sustained = await closed_loop(client.create, sustained_events, concurrency)
        posts_done = time.perf_counter()
        drained = await watch.wait_for(base + sustained_events)
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
        lag_events, worst_lateness = await open_loop(client.create, lag_rate, lag_seconds)
        await watch.wait_for(base + len(lag_events))
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
        "lag_ms": lag_stages["lag_source_event_to_replica"],
        "lag_basis": "customer_replica.replicated_at - source_event_time (same machine clock)",
        "lag_rate": lag_rate,
        "lag_seconds": lag_seconds,
        "lag_schedule_worst_lateness_ms": round(worst_lateness * 1000, 2),
        "lag_stages_ms": lag_stages,
        "warmup_events": warmup_events,
        "concurrency": concurrency,
    }


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    print(
        f"bare ceiling: {args.sustained_events} sustained + {args.lag_rate:g}/s "
        f"x {args.lag_seconds:g}s ...",
        flush=True,
    )
    bare = await measure_bare_ceiling(
        sustained_events=args.sustained_events,
        lag_rate=args.lag_rate,
        lag_seconds=args.lag_seconds,
    )
    print(
        f"  bare: {bare['sustained_events_per_second']} events/s, "
        f"lag p99 {bare['lag_ms']['p99']} ms",
        flush=True,
    )

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
        )
        ours["service_logs"] = system.log_paths()
    finally:
        await system.stop()

    ratio = ours["sustained_events_per_second"] / bare["sustained_events_per_second"]
    p99 = float(ours["lag_ms"]["p99"])
    checks = {
        "throughput_ratio": {
            "value": round(ratio, 3),
            "target": f">= {TARGET_RATIO}",
            "pass": ratio >= TARGET_RATIO,
        },
        "lag_p99_ms": {"value": p99, "target": f"<= {TARGET_P99_MS}", "pass": p99 <= TARGET_P99_MS},
    }
    return {
        "benchmark": "event_path",
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "git_revision": _git_revision(),
        "ours": ours,
        "bare": bare,
        "ratio_to_bare": round(ratio, 3),
        "targets": checks,
        "pass": all(c["pass"] for c in checks.values()),
        "event_loop": type(asyncio.get_running_loop()).__module__,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def write_results(result: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"event_path-{stamp}.json"
    text = json.dumps(result, indent=2, default=str) + "\n"
    path.write_text(text)
    (RESULTS_DIR / "event_path-latest.json").write_text(text)
    return path


def summary(result: dict[str, Any]) -> str:
    ours, bare = result["ours"], result["bare"]
    lag, blag = ours["lag_ms"], bare["lag_ms"]
    mark = {True: "PASS", False: "FAIL"}
    t = result["targets"]
    lines = [
        "",
        f"event path benchmark ({result['event_loop']}, {result['machine']['cpu_count']} CPUs,"
        f" {result['git_revision']})",
        "                              ours        bare",
        f"  sustained events/s      {ours['sustained_events_per_second']:>8}    "
        f"{bare['sustained_events_per_second']:>8}",
        f"  lag p50 / p95 / p99 ms  {lag['p50']:>6} / {lag['p95']} / {lag['p99']}    "
        f"{blag['p50']} / {blag['p95']} / {blag['p99']}   (at {ours['lag_rate']:g} events/s)",
        f"  lag max ms              {lag['max']:>8}    {blag['max']:>8}",
        "",
        f"  ratio ours/bare   {t['throughput_ratio']['value']:.1%}  "
        f"(target >= {TARGET_RATIO:.0%})  {mark[t['throughput_ratio']['pass']]}",
        f"  p99 lag           {t['lag_p99_ms']['value']} ms  "
        f"(target <= {TARGET_P99_MS:g} ms)  {mark[t['lag_p99_ms']['pass']]}",
        "",
        "  stages at the fixed rate, p50 / p99 ms:",
    ]
    for name, stage in ours["lag_stages_ms"].items():
        if isinstance(stage, dict) and "p50" in stage:
            lines.append(f"    {name:<32} {stage['p50']:>8} / {stage['p99']}")
    lines += [
        "  stages under sustained load, p50 / p99 ms:",
    ]
    for name, stage in ours["sustained_stages_ms"].items():
        if isinstance(stage, dict) and "p50" in stage:
            lines.append(f"    {name:<32} {stage['p50']:>8} / {stage['p99']}")
    lines.append(
        f"  HTTP-side rate during sustained phase: "
        f"{ours['sustained_http_events_per_second']} creations/s"
    )
    lines.append(f"\n  overall: {mark[result['pass']]}")
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
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    os.chdir(REPO_ROOT)

    if args.no_uvloop:
        result = asyncio.run(run(args))
    else:
        import uvloop

        result = uvloop.run(run(args))
    path = write_results(result)
    print(summary(result))
    print(f"\n  results: {path.relative_to(REPO_ROOT)} (and event_path-latest.json)")
    if args.check and not result["pass"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
