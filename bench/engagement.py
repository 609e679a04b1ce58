"""Engagement benchmark: the sales pipeline's analytics at 100,000 opportunities, and (once the
follow-up tables are merged in) the daily reminder scan at 1,000,000 follow-ups and logging
follow-ups at 32 connections.

1. A fresh PostgreSQL database is migrated with the engagement service's Alembic migrations.
2. Bulk load with COPY (asyncpg ``copy_records_to_table``): 5,000 customers in the replica
   (200 owners, skewed), 100,000 opportunities over two years with a realistic stage mix
   (35 % open, 40 % won, 25 % lost), each with its stage history (creation + every move:
   ~3.4 rows per opportunity), the per-customer serial counters; then VACUUM ANALYZE.
   Follow-ups: ``load_followups`` (TODO-at-merge, see below).
3. The engagement service runs as a real process (``ServiceProcess``) on that database and a
   throwaway RabbitMQ vhost. ``GET /v1/analytics/pipeline`` is called sequentially (latency,
   not throughput) after a warm-up, over varied filters: everything (a manager), one owner
   (a rep), a 90-day creation period, a 90-day closing period, owner + period. Target:
   p95 <= 500 ms (key ``analytics_ms``).
4. ``POST /v1/opportunities`` at 32 connections for 15 s (throughput, p50/p99;
   ``opportunity_create_rps``), the same load shape the follow-up logging figure uses.
5. TODO-at-merge (the follow-up, reminder and cadence tables come from the other branch):
   ``reminder_scan_s`` (the daily 09:00 scan over 1,000,000 follow-ups, target <= 5 s) and
   ``followup_create_rps`` (logging follow-ups at 32 connections, p50/p99). Each function
   raises ``NotImplementedError`` while its table is missing, and the run records them as
   ``todo-at-merge``; the lead fills them in when the branches meet.

Results go to ``bench/results/engagement-<UTC timestamp>.json`` and
``bench/results/engagement-latest.json``. The database and vhost are removed in a ``finally``
(unless ``--keep-database``).

Run from the repository root: ``uv run --frozen python bench/engagement.py`` (or
``make bench-engagement``); ``--help`` lists the knobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # run as a script or with -m
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import httpx
from reporting import REPO_ROOT, git_revision, percentiles_ms, write_results

from crm_engagement.__main__ import MIGRATIONS_DIR
from crm_engagement.domain.stages import DEFAULT_PROBABILITY, OPEN_STAGES
from crm_platform.identity import mint_internal_token
from crm_platform.migrations import upgrade
from crm_platform.settings import DEV_INTERNAL_TOKEN_SECRET
from crm_platform.testing import (
    PG_ADMIN_DSN,
    ServiceProcess,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    run_id,
)

LOG_DIR = REPO_ROOT / "var" / "bench-logs"
SEED = 20261130
OWNERS = 200
CUSTOMERS = 5_000
COPY_BATCH = 20_000
TARGET_ANALYTICS_P95_MS = 500.0
TARGET_REMINDER_SCAN_S = 5.0
CONNECTIONS = 32
LOST_REASONS = ("budget", "competitor", "timing", "no_decision", "requirements", "other")

OPPORTUNITY_COLUMNS = (
    "id", "code", "customer_id", "serial", "name", "expected_amount", "expected_close_on",
    "stage", "probability", "competitors", "strengths", "weaknesses", "owner_id",
    "evaluated_on", "actual_amount", "contract_number", "lost_reason", "lost_detail",
    "created_by", "created_at", "updated_at", "closed_at", "version",
)  # fmt: skip
HISTORY_COLUMNS = (
    "id", "opportunity_id", "from_stage", "to_stage", "note", "changed_by", "changed_at",
    "expected_amount", "probability", "actual_amount", "contract_number", "lost_reason",
    "lost_detail",
)  # fmt: skip


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _dsn_url(database: str) -> str:
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    return f"{base}/{database}".replace("postgresql://", "postgresql+asyncpg://", 1)


def owner_ids() -> list[str]:
    return [f"u-sales-{n:03d}" for n in range(1, OWNERS + 1)]


# --------------------------------------------------------------------------- the data


class Dataset:
    """Customers, opportunities and their histories, generated from one seed."""

    def __init__(self, opportunities: int, seed: int = SEED) -> None:
        self.opportunities = opportunities
        self.rng = random.Random(seed)
        self.owners = owner_ids()
        owner_cum = list(itertools.accumulate(1 / (rank**0.5) for rank in range(1, OWNERS + 1)))
        self.customers = [
            (
                uuid.UUID(int=self.rng.getrandbits(128)),
                f"BEN2026{n:05d}",
                self.rng.choices(self.owners, cum_weights=owner_cum)[0],
            )
            for n in range(1, CUSTOMERS + 1)
        ]
        self.now = datetime.now(UTC)
        self.serials: dict[uuid.UUID, int] = {}
        self.customer_ids_sample: list[str] = []

    def customer_rows(self) -> list[tuple[Any, ...]]:
        return [
            (cid, code, f"基准客户{n}有限公司", owner, "B", "intent", False, 1, self.now, self.now)
            for n, (cid, code, owner) in enumerate(self.customers)
        ]

    def rows(self) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
        """(opportunity row, its history rows), oldest first."""
        rng = self.rng
        span = timedelta(days=730).total_seconds()
        start = self.now - timedelta(days=730)
        offsets = sorted(rng.random() * span for _ in range(self.opportunities))
        for offset in offsets:
            customer_id, code, owner = rng.choice(self.customers)
            serial = self.serials[customer_id] = self.serials.get(customer_id, 0) + 1
            created = start + timedelta(seconds=offset)
            expected = Decimal(rng.randrange(5_000_00, 2_000_000_00)) / 100
            furthest = rng.choices(range(4), weights=(35, 25, 22, 18))[0]
            outcome = rng.choices(("open", "won", "lost"), weights=(35, 40, 25))[0]
            path = list(OPEN_STAGES[: furthest + 1])
            if outcome != "open":
                path.append(outcome)
            moments = [created]
            for _ in path[1:]:
                moments.append(moments[-1] + timedelta(hours=rng.uniform(12, 24 * 30)))
            moments = [min(m, self.now) for m in moments]
            stage = path[-1]
            closed = moments[-1] if outcome != "open" else None
            actual = (expected * Decimal(rng.uniform(0.8, 1.1))).quantize(Decimal("0.01"))
            won = outcome == "won"
            reason = rng.choice(LOST_REASONS) if outcome == "lost" else None
            opportunity_id = uuid.UUID(int=rng.getrandbits(128))
            probability = DEFAULT_PROBABILITY[stage]
            opportunity = (
                opportunity_id, f"{code}OP{serial:02d}", customer_id, serial,
                f"项目 {serial}", expected,
                (created + timedelta(days=rng.randrange(30, 180))).date(), str(stage),
                probability, "[]", None, None, owner, None,
                actual if won else None, f"HT-{serial}" if won else None, reason, None,
                owner, created, moments[-1], closed, len(path),
            )  # fmt: skip
            history = []
            previous = None
            for to, moment in zip(path, moments, strict=True):
                history.append(
                    (
                        uuid.UUID(int=rng.getrandbits(128)),
                        opportunity_id,
                        previous,
                        str(to),
                        "推进",
                        owner,
                        moment,
                        expected,
                        DEFAULT_PROBABILITY[to],
                        actual if won and to == "won" else None,
                        f"HT-{serial}" if won and to == "won" else None,
                        reason if to == "lost" else None,
                        None,
                    )
                )
                previous = str(to)
            yield opportunity, history


async def load(database_url: str, dataset: Dataset) -> dict[str, Any]:
    """COPY the replica, opportunities, histories and serials; VACUUM ANALYZE."""
    connection = await asyncpg.connect(_dsn(database_url))
    timings: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "customer_replica",
            records=dataset.customer_rows(),
            columns=[
                "id", "code", "name", "owner_id", "grade", "lifecycle", "archived",
                "source_version", "source_event_time", "replicated_at",
            ],
        )  # fmt: skip
        loaded = histories = 0
        opportunities: list[tuple[Any, ...]] = []
        steps: list[tuple[Any, ...]] = []

        async def flush() -> None:
            await connection.copy_records_to_table(
                "opportunity", records=opportunities, columns=OPPORTUNITY_COLUMNS
            )
            await connection.copy_records_to_table(
                "opportunity_stage_change", records=steps, columns=HISTORY_COLUMNS
            )
            opportunities.clear()
            steps.clear()

        for opportunity, history in dataset.rows():
            opportunities.append(opportunity)
            steps.extend(history)
            loaded += 1
            histories += len(history)
            if len(opportunities) >= COPY_BATCH:
                await flush()
                rate = loaded / (time.perf_counter() - started)
                print(f"\r  loaded {loaded:>8,} opportunities ({rate:,.0f}/s)", end="", flush=True)
        if opportunities:
            await flush()
        print()
        await connection.copy_records_to_table(
            "opportunity_serial",
            records=list(dataset.serials.items()),
            columns=["customer_id", "last_serial"],
        )
        timings["copy_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        await connection.execute(
            "VACUUM (ANALYZE) customer_replica, opportunity, opportunity_stage_change,"
            " opportunity_serial"
        )
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
        timings["opportunities"] = loaded
        timings["stage_history_rows"] = histories
        timings["customers"] = len(dataset.customers)
        dataset.customer_ids_sample = [str(c[0]) for c in dataset.customers[:500]]
        followups = await load_followups(connection, 1_000_000)
        timings["followups"] = followups
    finally:
        await connection.close()
    return timings


async def _table_exists(connection: asyncpg.Connection, table: str) -> bool:
    return bool(await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


# --------------------------------------------------------------------------- TODO-at-merge
# The follow-up side (tables, scan, API) lives on the other branch. Each function below
# refuses with NotImplementedError while its table is missing; at the merge, the lead replaces
# the marked part with the real load / scan / body (the load shape is ready: _post_load).

FOLLOWUP_TABLE = "followup"  # the follow-ups branch's table


async def load_followups(connection: asyncpg.Connection, count: int) -> dict[str, Any]:
    """TODO-at-merge: COPY ``count`` follow-ups (10 % with a next follow-up due today, action
    items, over the 5,000 customers) into the follow-up tables."""
    if not await _table_exists(connection, FOLLOWUP_TABLE):
        return {"status": "todo-at-merge", "reason": f"no {FOLLOWUP_TABLE} table in this branch"}
    raise NotImplementedError("TODO-at-merge: COPY the follow-ups (columns of the merged table)")


async def reminder_scan_s(database_url: str) -> dict[str, Any]:
    """TODO-at-merge: time the daily 09:00 reminder scan over the loaded follow-ups
    (target <= 5 s), through the service's own scan function and engine settings."""
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        if not await _table_exists(connection, FOLLOWUP_TABLE):
            raise NotImplementedError(f"no {FOLLOWUP_TABLE} table in this branch")
    finally:
        await connection.close()
    raise NotImplementedError("TODO-at-merge: call the reminder scan and time it")


async def followup_create_rps(base_url: str, database_url: str) -> dict[str, Any]:
    """TODO-at-merge: ``POST /v1/follow-ups`` at 32 connections: throughput, p50/p99."""
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        if not await _table_exists(connection, FOLLOWUP_TABLE):
            raise NotImplementedError(f"no {FOLLOWUP_TABLE} table in this branch")
    finally:
        await connection.close()
    raise NotImplementedError(
        "TODO-at-merge: _post_load(base_url, '/v1/follow-ups', <follow-up body>, ...)"
    )


# --------------------------------------------------------------------------- measuring


def _headers(subject: str, role: str) -> dict[str, str]:
    token = mint_internal_token(
        DEV_INTERNAL_TOKEN_SECRET, subject=subject, roles=[role], ttl_seconds=3600
    )
    return {"authorization": f"Bearer {token}"}


def analytics_queries(dataset: Dataset, rng: random.Random) -> dict[str, Callable[[], Any]]:
    """Each scenario draws (headers, params) for one request."""
    manager = _headers("u-manager", "sales_manager")
    today = dataset.now.date()

    def period() -> dict[str, str]:
        start = today - timedelta(days=rng.randrange(90, 730))
        return {"date_from": start.isoformat(), "date_to": (start + timedelta(days=89)).isoformat()}

    def busy_owner() -> str:
        return rng.choice(dataset.owners[:40])

    return {
        "all": lambda: (manager, {}),
        "owner_as_rep": lambda: (_headers(o := busy_owner(), "sales_rep"), {"owner_id": o}),
        "created_90_days": lambda: (manager, period()),
        "closed_90_days": lambda: (manager, {"basis": "closed", **period()}),
        "owner_and_period": lambda: (manager, {"owner_id": busy_owner(), **period()}),
    }


async def measure_analytics(base_url: str, dataset: Dataset, rounds: int) -> dict[str, Any]:
    rng = random.Random(SEED + 7)
    scenarios = analytics_queries(dataset, rng)
    results: dict[str, Any] = {}
    everything: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for draw in scenarios.values():  # warm-up
            headers, params = draw()
            (
                await client.get("/v1/analytics/pipeline", headers=headers, params=params)
            ).raise_for_status()
        for name, draw in scenarios.items():
            durations = []
            for _ in range(rounds):
                headers, params = draw()
                started = time.perf_counter()
                response = await client.get(
                    "/v1/analytics/pipeline", headers=headers, params=params
                )
                durations.append(time.perf_counter() - started)
                response.raise_for_status()
            everything.extend(durations)
            results[name] = percentiles_ms(durations)
            print(f"  analytics {name:<18} {results[name]}")
    overall = percentiles_ms(everything)
    return {
        "p50": overall["p50"],
        "p95": overall["p95"],
        "p99": overall["p99"],
        "max": overall["max"],
        "count": overall["count"],
        "scenarios": results,
        "target_p95_ms": TARGET_ANALYTICS_P95_MS,
        "pass": overall["p95"] <= TARGET_ANALYTICS_P95_MS,
    }


async def _post_load(
    base_url: str,
    path: str,
    body: Callable[[int], tuple[dict[str, str], dict[str, Any]]],
    *,
    connections: int = CONNECTIONS,
    seconds: float = 15.0,
) -> dict[str, Any]:
    """``connections`` clients posting back to back for ``seconds``: rps and latency."""
    durations: list[float] = []
    failures = 0
    counter = itertools.count()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            headers, payload = body(next(counter))
            started = time.perf_counter()
            response = await client.post(path, json=payload, headers=headers)
            durations.append(time.perf_counter() - started)
            if response.status_code >= 300:
                failures += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latency = percentiles_ms(durations)
    return {
        "rps": round(len(durations) / elapsed, 1),
        "requests": len(durations),
        "failures": failures,
        "connections": connections,
        "p50_ms": latency.get("p50"),
        "p99_ms": latency.get("p99"),
        "max_ms": latency.get("max"),
    }


async def opportunity_create_rps(base_url: str, dataset: Dataset) -> dict[str, Any]:
    manager = _headers("u-manager", "sales_manager")
    customers = dataset.customer_ids_sample

    def body(n: int) -> tuple[dict[str, str], dict[str, Any]]:
        return manager, {
            "customer_id": customers[n % len(customers)],
            "name": f"压测项目 {n}",
            "expected_amount": "88000.00",
            "expected_close_on": (date.today() + timedelta(days=60)).isoformat(),
        }

    return await _post_load(base_url, "/v1/opportunities", body)


async def _todo(name: str, call: Callable[[], Any]) -> dict[str, Any]:
    try:
        return await call()
    except NotImplementedError as exc:
        print(f"  {name}: TODO-at-merge ({exc})")
        return {"status": "todo-at-merge", "reason": str(exc)}


# --------------------------------------------------------------------------- the run


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = run_id()
    database = f"bench_engagement_{tag}"
    vhost = f"bench-engagement-{tag}"
    dataset = Dataset(opportunities=args.opportunities)
    result: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "opportunities": args.opportunities,
        "load_average_before": os.getloadavg(),
    }
    created_database = created_vhost = False
    process: ServiceProcess | None = None
    url = _dsn_url(database)
    try:
        url = await create_database(database)
        created_database = True
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url, "heads")
        print(f"loading {args.opportunities:,} opportunities into {database}")
        started = time.perf_counter()
        result["load"] = await load(url, dataset)
        result["load"]["total_seconds"] = round(time.perf_counter() - started, 1)
        print(f"  load: {result['load']}")

        amqp_url = await asyncio.to_thread(create_vhost, vhost)
        created_vhost = True
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        process = ServiceProcess(
            "engagement",
            env={
                "CRM_ENGAGEMENT_DATABASE_URL": url,
                "CRM_AMQP_URL": amqp_url,
                "CRM_LOG_LEVEL": "WARNING",
            },
            log_dir=LOG_DIR,
        )
        await process.start()
        result["analytics_ms"] = await measure_analytics(process.url, dataset, args.rounds)
        result["reminder_scan_s"] = await _todo("reminder_scan_s", lambda: reminder_scan_s(url))
        result["followup_create_rps"] = await _todo(
            "followup_create_rps", lambda: followup_create_rps(process.url, url)
        )
        result["opportunity_create_rps"] = await opportunity_create_rps(process.url, dataset)
        print(f"  opportunity creates: {result['opportunity_create_rps']}")
    finally:
        if process is not None:
            process.stop()
        if created_vhost:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(delete_vhost, vhost)
        if created_database and not args.keep_database:
            await drop_database(database)
        elif created_database:
            print(f"  kept database {database} (--keep-database): {url}")
    result.update(
        finished_at=datetime.now(UTC).isoformat(),
        load_average_after=os.getloadavg(),
        git_revision=git_revision(),
        machine={
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    )
    return result


def summary(result: dict[str, Any]) -> str:
    analytics = result["analytics_ms"]
    creates = result["opportunity_create_rps"]
    mark = "PASS" if analytics["pass"] else "FAIL"
    return "\n".join(
        [
            "",
            f"engagement at {result['opportunities']:,} opportunities"
            f" ({result['machine']['cpu_count']} CPUs, {result['git_revision']})",
            f"  pipeline analytics: p50 {analytics['p50']} ms, p95 {analytics['p95']} ms"
            f" over {analytics['count']} requests; target p95 <= {TARGET_ANALYTICS_P95_MS:g} ms"
            f" {mark}",
            f"  opportunity creates at {creates['connections']} connections: {creates['rps']}/s,"
            f" p50 {creates['p50_ms']} ms, p99 {creates['p99_ms']} ms"
            f" ({creates['failures']} failures)",
            f"  reminder_scan_s: {result['reminder_scan_s']}",
            f"  followup_create_rps: {result['followup_create_rps']}",
        ]
    )


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40, help="requests per analytics scenario")
    parser.add_argument("--keep-database", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    result = asyncio.run(run(parse(argv)))
    path = write_results("engagement", result)
    print(summary(result))
    print(f"  results: {path}")


if __name__ == "__main__":
    main()
