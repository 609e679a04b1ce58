"""Gateway benchmark: what forwarding through the gateway costs against calling the customers
service directly, on PostgreSQL with 10,000 customers.

The customers service and the gateway run as real processes (``ServiceProcess``) on throwaway
databases and a throwaway RabbitMQ vhost. The bench signs in through the gateway
(``POST /api/v1/auth/login`` with the ``CRM_ADMIN_USERNAME`` / ``CRM_ADMIN_PASSWORD`` it gives
the gateway) and sends the access token; direct calls carry an internal token for the same
admin. In one run, for each upstream transport asked for (``--transports aiohttp,httpx``; the
gateway is restarted with ``CRM_UPSTREAM_TRANSPORT`` for each, the first is the headline):

(a) GET one customer by id, closed loop at ``--connections`` (32) in flight: directly, then
    through the gateway; requests/s and the CPU ms per request of each process
    (``/proc/<pid>/stat`` utime+stime before and after);
(b) the same GET at a fixed ``--rate`` (200/s, open loop), directly then through the gateway:
    p50/p99 and what the gateway adds to them;
(c) through the gateway: customer creations and a filtered list (owner + page of 20),
    closed loop.

Targets: gateway throughput >= 70% of direct; at 200/s the gateway adds <= 2 ms p50 and
<= 10 ms p99. Results: ``bench/results/gateway-<UTC stamp>.json`` and ``gateway-latest.json``.
Run from the repository root: ``uv run --frozen python bench/gateway.py`` (``make
bench-gateway``); on a shared machine under ``flock /tmp/crm-bench.lock``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from bare_path import closed_loop, open_loop  # noqa: E402
from customers_search import Dataset, load  # noqa: E402
from event_path import company_name  # noqa: E402
from reporting import (  # noqa: E402
    git_revision,
    percentiles_ms,
    start_profiler,
    stop_profiler,
    write_results,
)

from crm_customers.__main__ import MIGRATIONS_DIR as CUSTOMERS_MIGRATIONS  # noqa: E402
from crm_platform.identity import mint_internal_token  # noqa: E402
from crm_platform.migrations import upgrade  # noqa: E402
from crm_platform.settings import DEV_INTERNAL_TOKEN_SECRET  # noqa: E402
from crm_platform.testing import (  # noqa: E402
    ServiceProcess,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    run_id,
)

TARGET_RATIO = 0.70
TARGET_P50_ADDED_MS = 2.0
TARGET_P99_ADDED_MS = 10.0
ADMIN_USERNAME = "bench-admin"
ADMIN_PASSWORD = "bench-Admin-password-7f3a9c!"
LOG_DIR = REPO_ROOT / "var" / "bench-logs"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Client:
    """The load generator's HTTP client (aiohttp: cheaper per request than the services)."""

    def __init__(self, connections: int, headers: dict[str, str]) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, keepalive_timeout=2.0),
            timeout=aiohttp.ClientTimeout(total=60),
            headers=headers,
        )
        self.failures: dict[int, int] = {}
        self.first_failure: dict[int, str] = {}

    async def call(self, method: str, url: str, body: bytes | None = None) -> float:
        started = time.perf_counter()
        headers = {"content-type": "application/json"} if body else None
        async with self.session.request(method, url, data=body, headers=headers) as response:
            body = await response.read()
            if response.status >= 400:
                self.failures[response.status] = self.failures.get(response.status, 0) + 1
                self.first_failure.setdefault(response.status, body[:300].decode(errors="replace"))
        return time.perf_counter() - started

    async def close(self) -> None:
        await self.session.close()


async def saturate(
    call: Callable[[], Awaitable[float]], count: int, connections: int, pids: dict[str, int]
) -> dict[str, Any]:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    await closed_loop(call, count, connections)
    elapsed = time.perf_counter() - started
    used = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    return {
        "requests": count,
        "rps": round(count / elapsed, 1),
        "cpu_ms_per_request": {name: round(s * 1000 / count, 3) for name, s in used.items()},
    }


async def at_rate(call: Callable[[], Awaitable[float]], rate: float, seconds: float) -> dict:
    durations, lateness = await open_loop(call, rate, seconds)
    return {**percentiles_ms(durations), "worst_start_lateness_ms": round(lateness * 1000, 2)}


async def sign_in(gateway: str) -> tuple[dict[str, str], str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway}/api/v1/auth/login",
            json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        ) as response,
    ):
        if response.status == 200:
            token = (await response.json())["access_token"]
            return {"authorization": f"Bearer {token}"}, "login"
        if response.status in (404, 405):
            print("  no login route on this gateway: running with its authentication stub")
            return {}, "auth-stub (no /api/v1/auth/login on this revision)"
        raise RuntimeError(f"login failed: {response.status} {await response.text()}")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = run_id()
    vhost = f"bench-gateway-{tag}"
    names = {"customers": f"bench_gw_{tag}_customers", "gateway": f"bench_gw_{tag}_gateway"}
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "revision": git_revision(),
        "rows": args.rows,
        "connections": args.connections,
        "rate": args.rate,
        "load_average_before": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    processes: list[ServiceProcess] = []
    created: list[str] = []
    amqp_url = ""
    try:
        amqp_url = await asyncio.to_thread(create_vhost, vhost)
        urls = {}
        for service, database in names.items():
            urls[service] = await create_database(database)
            created.append(database)
        await asyncio.to_thread(upgrade, CUSTOMERS_MIGRATIONS, urls["customers"])
        dataset = Dataset(rows=args.rows)
        print(f"loading {args.rows:,} customers")
        result["load"] = await load(urls["customers"], dataset)
        connection = await asyncpg.connect(_dsn(urls["customers"]))
        ids = [str(r["id"]) for r in await connection.fetch("SELECT id FROM customer LIMIT 2000")]
        industry = await connection.fetchval("SELECT industry FROM customer LIMIT 1")
        await connection.close()

        LOG_DIR.mkdir(parents=True, exist_ok=True)
        common = {"CRM_AMQP_URL": amqp_url, "CRM_LOG_LEVEL": "WARNING"}
        customers = ServiceProcess(
            "customers",
            env={**common, "CRM_CUSTOMERS_DATABASE_URL": urls["customers"]},
            log_dir=LOG_DIR,
        )
        processes.append(customers)
        await customers.start(ready_timeout=90)
        internal = mint_internal_token(
            DEV_INTERNAL_TOKEN_SECRET, subject="u-bench-admin", roles=["admin"], ttl_seconds=3600
        )
        direct = Client(args.connections, {"authorization": f"Bearer {internal}"})
        transports: dict[str, Any] = {}
        for transport in args.transports.split(","):
            gateway = ServiceProcess(
                "gateway",
                env={
                    **common,
                    "CRM_GATEWAY_DATABASE_URL": urls["gateway"],
                    "CRM_CUSTOMERS_URL": customers.url,
                    "CRM_UPSTREAM_TRANSPORT": transport,
                    "CRM_ADMIN_USERNAME": ADMIN_USERNAME,
                    "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    "CRM_RATE_LIMIT": "100000000/minute",
                },
                log_dir=LOG_DIR,
            )
            await asyncio.to_thread(gateway.migrate)
            processes.append(gateway)
            await gateway.start(ready_timeout=90)
            headers, auth = await sign_in(gateway.url)
            result["auth"] = auth
            through = Client(args.connections, headers)
            pids = {"gateway": gateway.process.pid, "customers": customers.process.pid}
            rng = random.Random(7)

            def get(
                base: str, client: Client, rng: random.Random = rng
            ) -> Callable[[], Awaitable[float]]:
                return lambda: client.call("GET", f"{base}/customers/{rng.choice(ids)}")

            direct_get = get(f"{customers.url}/v1", direct)
            gateway_get = get(f"{gateway.url}/api/v1", through)
            print(f"[{transport}] warm-up")
            await closed_loop(direct_get, 500, args.connections)
            await closed_loop(gateway_get, 500, args.connections)
            figures: dict[str, Any] = {}
            print(f"[{transport}] GET at saturation ({args.connections} connections)")
            figures["get_direct"] = await saturate(
                direct_get, args.requests, args.connections, pids
            )
            profiler = (
                start_profiler(gateway, args.profile_gateway) if args.profile_gateway else None
            )
            figures["get_gateway"] = await saturate(
                gateway_get, args.requests, args.connections, pids
            )
            if profiler:
                stop_profiler(profiler, args.profile_gateway)
            print(f"[{transport}] GET at {args.rate}/s for {args.seconds} s")
            figures["rate_direct"] = await at_rate(direct_get, args.rate, args.seconds)
            figures["rate_gateway"] = await at_rate(gateway_get, args.rate, args.seconds)

            def create(through: Client = through, url: str = gateway.url) -> Awaitable[float]:
                body = json.dumps(
                    {"kind": "enterprise", "name": company_name(), "industry": industry}
                ).encode()
                return through.call("POST", f"{url}/api/v1/customers", body)

            def listed(
                through: Client = through, url: str = gateway.url, rng: random.Random = rng
            ) -> Awaitable[float]:
                owner = rng.choice(dataset.owners)
                return through.call("GET", f"{url}/api/v1/customers?owner_id={owner}&limit=20")

            print(f"[{transport}] create and filtered list through the gateway")
            figures["create_gateway"] = await saturate(create, args.writes, args.connections, pids)
            figures["list_gateway"] = await saturate(listed, args.writes, args.connections, pids)
            figures["failures"] = {"direct": direct.failures, "gateway": through.failures}
            figures["first_failure"] = {**direct.first_failure, **through.first_failure}
            transports[transport] = figures
            await through.close()
            gateway.stop()
            processes.remove(gateway)
        await direct.close()
        result["transports"] = transports
        head = transports[args.transports.split(",")[0]]
        direct_rps = head["get_direct"]["rps"]
        gateway_rps = head["get_gateway"]["rps"]
        result.update(
            transport=args.transports.split(",")[0],
            get_direct_rps=direct_rps,
            get_gateway_rps=gateway_rps,
            gateway_ratio=round(gateway_rps / direct_rps, 3),
            p50_added_ms=round(head["rate_gateway"]["p50"] - head["rate_direct"]["p50"], 2),
            p99_added_ms=round(head["rate_gateway"]["p99"] - head["rate_direct"]["p99"], 2),
            create_gateway_rps=head["create_gateway"]["rps"],
            list_gateway_rps=head["list_gateway"]["rps"],
            gateway_cpu_ms_per_request=head["get_gateway"]["cpu_ms_per_request"]["gateway"],
        )
        result["targets"] = {
            "gateway_ratio": TARGET_RATIO,
            "p50_added_ms": TARGET_P50_ADDED_MS,
            "p99_added_ms": TARGET_P99_ADDED_MS,
        }
        result["met"] = (
            result["gateway_ratio"] >= TARGET_RATIO
            and result["p50_added_ms"] <= TARGET_P50_ADDED_MS
            and result["p99_added_ms"] <= TARGET_P99_ADDED_MS
        )
        result["load_average_after"] = os.getloadavg()
        return result
    finally:
        for process in processes:
            process.stop()
        for database in created:
            await drop_database(database)
        if amqp_url:
            await asyncio.to_thread(delete_vhost, vhost)


def summary(result: dict[str, Any]) -> str:
    lines = [f"auth: {result['auth']}; load average before {result['load_average_before']}"]
    for transport, f in result["transports"].items():
        ratio = f["get_gateway"]["rps"] / f["get_direct"]["rps"]
        lines.append(
            f"[{transport}] GET direct {f['get_direct']['rps']}/s, gateway "
            f"{f['get_gateway']['rps']}/s (ratio {ratio:.2f}); "
            f"CPU ms/request gateway {f['get_gateway']['cpu_ms_per_request']['gateway']}, "
            f"customers {f['get_direct']['cpu_ms_per_request']['customers']}; "
            f"at {result['rate']}/s "
            f"p50 {f['rate_direct']['p50']} -> {f['rate_gateway']['p50']} ms, p99 "
            f"{f['rate_direct']['p99']} -> {f['rate_gateway']['p99']} ms; create "
            f"{f['create_gateway']['rps']}/s, list {f['list_gateway']['rps']}/s"
        )
    lines.append(
        f"headline ({result['transport']}): ratio {result['gateway_ratio']} (>= {TARGET_RATIO}), "
        f"p50 +{result['p50_added_ms']} ms (<= {TARGET_P50_ADDED_MS}), p99 "
        f"+{result['p99_added_ms']} ms (<= {TARGET_P99_ADDED_MS}): "
        f"{'met' if result['met'] else 'NOT met'}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--profile-gateway",
        type=Path,
        metavar="FILE",
        help="py-spy the gateway during its GET saturation phase into FILE (collapsed stacks)",
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=6000, help="GETs per saturation phase")
    parser.add_argument("--writes", type=int, default=1500, help="creates and lists")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--transports",
        default="aiohttp,httpx",
        help="the gateway's upstream transports to run, comma-separated; the first is the headline",
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    path = write_results("gateway", result)
    print(summary(result))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
