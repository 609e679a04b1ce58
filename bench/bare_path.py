"""Bare ceiling of this machine for the shape of work of the CRM event path.

The real system is reported as a ratio of this figure, so this module does the
same work with no framework at all: raw asyncpg + raw aio-pika, one process,
one event loop.

    producer txn (customer + outbox row)
      -> relay (outbox batch -> topic exchange, publisher confirms, mark published)
      -> quorum queue
      -> consumer txn (inbox row + replica upsert) -> ack

Everything it creates (two PostgreSQL databases and one RabbitMQ vhost) is
throwaway and removed in a ``finally`` (an ``AsyncExitStack``).

Run: ``.venv/bin/python -m bench.bare_path [--uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import secrets
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

if str(Path(__file__).resolve().parent) not in sys.path:  # run with -m, or imported by event_path
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage
from reporting import percentiles_ms

EXCHANGE = "crm.events"
ROUTING_KEY = "customer.created"
QUEUE = "bench.bare.customer_replica"
EVENT_TYPE = "crm.customer.created"
EVENT_SOURCE = "bench/bare_path"

RELAY_BATCH = 200
RELAY_SWEEP_SECONDS = 1.0
PREFETCH = 64
PRODUCER_CONCURRENCY = 16
CONSUMER_POOL_SIZE = 16
WARMUP_EVENTS = 300
PHASE_TIMEOUT_SECONDS = 120.0

PRODUCER_SCHEMA = """
CREATE TABLE customer (
    id         uuid PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    kind       text NOT NULL,
    industry   text,
    lifecycle  text NOT NULL,
    owner_id   uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    type         text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
"""

CONSUMER_SCHEMA = """
CREATE TABLE inbox (
    event_id uuid PRIMARY KEY
);
CREATE TABLE customer_replica (
    id            uuid PRIMARY KEY,
    code          text NOT NULL,
    name          text NOT NULL,
    owner_id      uuid,
    lifecycle     text NOT NULL,
    source_time   timestamptz NOT NULL,
    replicated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

INSERT_CUSTOMER = """
INSERT INTO customer (id, code, name, kind, industry, lifecycle, owner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
INSERT_OUTBOX = "INSERT INTO outbox (id, type, payload) VALUES ($1, $2, $3)"
SELECT_UNPUBLISHED = f"""
SELECT id, type, payload, created_at FROM outbox
WHERE published_at IS NULL
ORDER BY created_at
LIMIT {RELAY_BATCH}
FOR UPDATE SKIP LOCKED
"""
MARK_PUBLISHED = "UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY($1::uuid[])"

INSERT_INBOX = "INSERT INTO inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING event_id"
UPSERT_REPLICA = """
INSERT INTO customer_replica (id, code, name, owner_id, lifecycle, source_time)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET
    code = EXCLUDED.code,
    name = EXCLUDED.name,
    owner_id = EXCLUDED.owner_id,
    lifecycle = EXCLUDED.lifecycle,
    source_time = EXCLUDED.source_time,
    replicated_at = clock_timestamp()
WHERE customer_replica.source_time <= EXCLUDED.source_time
RETURNING replicated_at
"""


async def _init_connection(conn: asyncpg.Connection) -> None:
    """jsonb <-> Python objects, as any real service would configure it."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@dataclass(frozen=True, slots=True)
class ProducedEvent:
    """What the producer knows about one event once its transaction committed."""

    event_id: uuid.UUID
    committed_at: float  # time.time() right after COMMIT returned (wall clock)
    committed_mono: float  # time.perf_counter() at the same moment


@dataclass(frozen=True, slots=True)
class Replicated:
    """What the consumer knows about one event once its transaction committed."""

    source_time: datetime  # event time = producer's clock_timestamp() in its txn
    replicated_at: datetime  # consumer's clock_timestamp() when the row was written


class PhaseTracker:
    """Counts fresh replicas in-process so a phase knows when it has fully drained.

    Phases run one after another and each waits for its own drain, so a count
    is enough; redeliveries are filtered by the inbox and never counted.
    """

    def __init__(self) -> None:
        self.replicated: dict[uuid.UUID, Replicated] = {}
        self.duplicates = 0
        self.last_replica_mono = 0.0
        self._expected = 0
        self._seen = 0
        self._done = asyncio.Event()
        self._failure: BaseException | None = None

    def start_phase(self, expected: int) -> None:
        self._expected, self._seen = expected, 0
        self._done.clear()

    def record(self, event_id: uuid.UUID, replica: Replicated) -> None:
        self.replicated[event_id] = replica
        self._seen += 1
        if self._seen >= self._expected:
            self.last_replica_mono = time.perf_counter()
            self._done.set()

    def fail(self, exc: BaseException) -> None:
        """Abort the run instead of hanging until the phase timeout."""
        if self._failure is None:
            self._failure = exc
        self._done.set()

    async def wait_drained(self) -> float:
        """Wait for the phase's last replica; return its perf_counter() time."""
        try:
            await asyncio.wait_for(self._done.wait(), PHASE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise RuntimeError(
                f"phase not drained after {PHASE_TIMEOUT_SECONDS}s: {self._seen}/{self._expected}"
            ) from exc
        if self._failure is not None:
            raise RuntimeError("event path failed") from self._failure
        return self.last_replica_mono


class Producer:
    """One transaction per event: the business row and its outbox row."""

    def __init__(self, pool: asyncpg.Pool, relay_wakeup: asyncio.Event) -> None:
        self._pool = pool
        self._relay_wakeup = relay_wakeup
        self._seq = itertools.count(1)

    async def create_customer(self) -> ProducedEvent:
        seq = next(self._seq)
        customer_id, event_id, owner_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        data = {
            "id": str(customer_id),
            "code": f"C-{seq:08d}",
            "name": f"Customer {seq}",
            "kind": "company",
            "industry": "software",
            "lifecycle": "lead",
            "owner_id": str(owner_id),
        }
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(
                    INSERT_CUSTOMER,
                    customer_id,
                    data["code"],
                    data["name"],
                    data["kind"],
                    data["industry"],
                    data["lifecycle"],
                    owner_id,
                )
                await conn.execute(INSERT_OUTBOX, event_id, EVENT_TYPE, data)
            committed = ProducedEvent(event_id, time.time(), time.perf_counter())
        self._relay_wakeup.set()
        return committed


class OutboxRelay:
    """Moves committed outbox rows to the broker in batches.

    Woken right after each producer commit, and sweeps every second so that a
    missed wake-up can only delay, never lose, an event. It owns one dedicated
    connection so producers can never starve it of a pool slot.
    """

    def __init__(
        self,
        conn: asyncpg.Connection,
        exchange: AbstractExchange,
        on_error: Callable[[BaseException], None],
    ) -> None:
        self.wakeup = asyncio.Event()
        self._conn = conn
        self._exchange = exchange
        self._on_error = on_error
        self._stopping = False
        self.batches = 0

    async def run(self) -> None:
        try:
            while not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), RELAY_SWEEP_SECONDS)
                # Clear before draining: a commit landing mid-drain re-arms it.
                self.wakeup.clear()
                while await self._relay_batch() == RELAY_BATCH:
                    pass
        except Exception as exc:
            self._on_error(exc)
            raise

    async def stop(self, task: asyncio.Task[None]) -> None:
        self._stopping = True
        self.wakeup.set()
        with contextlib.suppress(Exception):  # a failure was already reported via on_error
            await asyncio.wait_for(task, 10)

    async def _relay_batch(self) -> int:
        async with self._conn.transaction():
            rows = await self._conn.fetch(SELECT_UNPUBLISHED)
            if not rows:
                return 0
            await asyncio.gather(
                *(
                    self._exchange.publish(_to_message(row), ROUTING_KEY, mandatory=True)
                    for row in rows
                )
            )
            await self._conn.execute(MARK_PUBLISHED, [row["id"] for row in rows])
        self.batches += 1
        return len(rows)


def _to_message(row: asyncpg.Record) -> aio_pika.Message:
    """CloudEvents-like JSON envelope; ``time`` is the outbox row's created_at."""
    envelope = {
        "specversion": "1.0",
        "id": str(row["id"]),
        "source": EVENT_SOURCE,
        "type": row["type"],
        "time": row["created_at"].isoformat(),
        "datacontenttype": "application/json",
        "data": row["payload"],
    }
    return aio_pika.Message(
        body=json.dumps(envelope).encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope["id"],
        type=row["type"],
    )


class ReplicaConsumer:
    """Inbox + replica upsert in one transaction, ack only after commit.

    aio-pika runs each delivery as its own task (up to the prefetch), and each
    takes its own pool connection, so handlers never serialize on one
    connection.
    """

    def __init__(self, pool: asyncpg.Pool, tracker: PhaseTracker) -> None:
        self._pool = pool
        self._tracker = tracker

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            event = json.loads(message.body)
            data = event["data"]
            event_id = uuid.UUID(event["id"])
            source_time = datetime.fromisoformat(event["time"])
            replicated_at: datetime | None = None
            async with self._pool.acquire() as conn, conn.transaction():
                fresh = await conn.fetchval(INSERT_INBOX, event_id)
                if fresh is not None:
                    replicated_at = await conn.fetchval(
                        UPSERT_REPLICA,
                        uuid.UUID(data["id"]),
                        data["code"],
                        data["name"],
                        uuid.UUID(data["owner_id"]) if data.get("owner_id") else None,
                        data["lifecycle"],
                        source_time,
                    )
            if fresh is None:
                self._tracker.duplicates += 1
            elif replicated_at is not None:
                self._tracker.record(event_id, Replicated(source_time, replicated_at))
            await message.ack()
        except Exception as exc:
            self._tracker.fail(exc)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)


T = TypeVar("T")


async def closed_loop(create: Callable[[], Awaitable[T]], count: int, concurrency: int) -> list[T]:
    """``concurrency`` workers creating ``count`` events back to back (shared with event_path)."""
    todo = iter(range(count))
    produced: list[T] = []

    async def worker() -> None:
        for _ in todo:
            produced.append(await create())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return produced


async def open_loop(
    create: Callable[[], Awaitable[T]], rate: float, seconds: float
) -> tuple[list[T], float]:
    """Start one event every 1/rate s regardless of completions (no coordinated
    omission). Returns the events and the worst start lateness in seconds."""
    count = round(rate * seconds)
    start = time.perf_counter()
    tasks: list[asyncio.Task[T]] = []
    worst_lateness = 0.0
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        worst_lateness = max(worst_lateness, time.perf_counter() - due)
        tasks.append(asyncio.create_task(create()))
    return list(await asyncio.gather(*tasks)), worst_lateness


async def _rabbitmqctl(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {(err or out).decode()}")


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), 10)
    except TimeoutError:
        pool.terminate()


async def _open_pool(
    stack: contextlib.AsyncExitStack, dsn: str, database: str, size: int
) -> asyncpg.Pool:
    """A fixed-size pool closed when ``stack`` unwinds."""
    pool = await asyncpg.create_pool(
        dsn, database=database, init=_init_connection, min_size=size, max_size=size
    )
    stack.push_async_callback(_close_pool, pool)
    return pool


async def measure_bare_ceiling(
    *,
    pg_admin_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres",
    amqp_base_url: str = "amqp://guest:guest@127.0.0.1:5672/",
    sustained_events: int = 3000,
    lag_rate: float = 200.0,
    lag_seconds: float = 10.0,
    consumers: int = 1,
) -> dict[str, Any]:
    """Measure sustained throughput and fixed-rate lag of the bare event path.

    ``consumers``: how many consuming services the event fans out to, each with its own
    quorum queue, connection and database (the CRM path has three: engagement,
    service-desk, notifier). Throughput and lag are measured at the first one.

    Throughput: first producer commit -> last replica row committed.
    Lag: replica ``replicated_at`` minus event ``time`` (``source_time``), both
    PostgreSQL ``clock_timestamp()`` on the same machine clock; the producer's
    value is taken inside its transaction, just before COMMIT, so this is a
    slight over-estimate. ``lag_from_commit_ms`` uses the client's wall clock
    right after COMMIT returned instead.
    """
    tag = secrets.token_hex(6)
    vhost = f"bench_bare_{tag}"
    producer_db = f"bench_bare_{tag}_producer"
    consumer_dbs = [f"bench_bare_{tag}_consumer{n}" for n in range(consumers)]
    amqp_user = urlsplit(amqp_base_url).username or "guest"
    amqp_url = amqp_base_url.rstrip("/") + "/" + quote(vhost, safe="")
    tracker = PhaseTracker()

    async with contextlib.AsyncExitStack() as stack:
        # --- throwaway infrastructure -------------------------------------
        admin = await asyncpg.connect(pg_admin_dsn)
        stack.push_async_callback(admin.close)
        schemas = [(producer_db, PRODUCER_SCHEMA)] + [(db, CONSUMER_SCHEMA) for db in consumer_dbs]
        for db, schema in schemas:
            await admin.execute(f'CREATE DATABASE "{db}"')
            stack.push_async_callback(admin.execute, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn = await asyncpg.connect(pg_admin_dsn, database=db)
            try:
                await conn.execute(schema)
            finally:
                await conn.close()
        await _rabbitmqctl("add_vhost", vhost)
        stack.push_async_callback(_rabbitmqctl, "delete_vhost", vhost)
        await _rabbitmqctl("set_permissions", "-p", vhost, amqp_user, ".*", ".*", ".*")

        # --- PostgreSQL ----------------------------------------------------
        producer_pool = await _open_pool(stack, pg_admin_dsn, producer_db, PRODUCER_CONCURRENCY)
        relay_conn = await asyncpg.connect(pg_admin_dsn, database=producer_db)
        await _init_connection(relay_conn)
        stack.push_async_callback(relay_conn.close)

        # --- RabbitMQ (one connection per side, as separate services would) --
        publisher_conn = await aio_pika.connect(amqp_url)
        stack.push_async_callback(publisher_conn.close)

        publish_channel: AbstractChannel = await publisher_conn.channel(
            publisher_confirms=True, on_return_raises=True
        )
        exchange = await publish_channel.declare_exchange(
            EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for n, consumer_db in enumerate(consumer_dbs):
            consumer_pool = await _open_pool(stack, pg_admin_dsn, consumer_db, CONSUMER_POOL_SIZE)
            consumer_conn = await aio_pika.connect(amqp_url)
            stack.push_async_callback(consumer_conn.close)
            consume_channel = await consumer_conn.channel()
            await consume_channel.set_qos(prefetch_count=PREFETCH)
            queue = await consume_channel.declare_queue(
                f"{QUEUE}.{n}", durable=True, arguments={"x-queue-type": "quorum"}
            )
            await queue.bind(EXCHANGE, ROUTING_KEY)
            # Only the first consumer's replicas are measured; the others do the same work
            # and still abort the run if they fail.
            counted = tracker if n == 0 else PhaseTracker()
            counted.fail = tracker.fail  # type: ignore[method-assign]
            consumer = ReplicaConsumer(consumer_pool, counted)
            # No explicit cancel: closing the consumer connection (unwound before
            # the pools) stops deliveries, and also works when the channel is gone.
            await queue.consume(consumer.handle, no_ack=False)

        relay = OutboxRelay(relay_conn, exchange, tracker.fail)
        relay_task = asyncio.create_task(relay.run(), name="outbox-relay")
        stack.push_async_callback(relay.stop, relay_task)
        producer = Producer(producer_pool, relay.wakeup)

        # --- warm-up (excluded) -------------------------------------------
        tracker.start_phase(WARMUP_EVENTS)
        await closed_loop(producer.create_customer, WARMUP_EVENTS, PRODUCER_CONCURRENCY)
        await tracker.wait_drained()

        # --- (a) sustained throughput -------------------------------------
        tracker.start_phase(sustained_events)
        sustained = await closed_loop(
            producer.create_customer, sustained_events, PRODUCER_CONCURRENCY
        )
        produced_done = time.perf_counter()
        last_replica = await tracker.wait_drained()
        first_commit = min(e.committed_mono for e in sustained)
        sustained_seconds = last_replica - first_commit
        producer_seconds = produced_done - first_commit

        # --- (b) lag at a fixed, open-loop rate ---------------------------
        lag_count = round(lag_rate * lag_seconds)
        tracker.start_phase(lag_count)
        lag_events, worst_lateness = await open_loop(
            producer.create_customer, lag_rate, lag_seconds
        )
        await tracker.wait_drained()

        lag_from_source: list[float] = []
        lag_from_commit: list[float] = []
        for event in lag_events:
            replica = tracker.replicated[event.event_id]
            lag_from_source.append((replica.replicated_at - replica.source_time).total_seconds())
            lag_from_commit.append(replica.replicated_at.timestamp() - event.committed_at)

        result: dict[str, Any] = {
            "sustained_events_per_second": round(sustained_events / sustained_seconds, 1),
            "sustained_events": sustained_events,
            "sustained_seconds": round(sustained_seconds, 3),
            "sustained_producer_events_per_second": round(sustained_events / producer_seconds, 1),
            "lag_ms": percentiles_ms(lag_from_source),
            "lag_basis": "replicated_at - source_time (both PostgreSQL clock_timestamp())",
            "lag_from_commit_ms": percentiles_ms(lag_from_commit),
            "lag_rate": lag_rate,
            "lag_seconds": lag_seconds,
            "lag_schedule_worst_lateness_ms": round(worst_lateness * 1000, 2),
            "warmup_events": WARMUP_EVENTS,
            "producer_concurrency": PRODUCER_CONCURRENCY,
            "consumer_prefetch": PREFETCH,
            "consumer_pool_size": CONSUMER_POOL_SIZE,
            "consumers": consumers,
            "relay_batches": relay.batches,
            "duplicate_deliveries": tracker.duplicates,
            "event_loop": type(asyncio.get_running_loop()).__module__,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sustained-events", type=int, default=3000)
    parser.add_argument("--lag-rate", type=float, default=200.0)
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as uvicorn does")
    parser.add_argument("--consumers", type=int, default=1, help="consuming services (fan-out)")
    args = parser.parse_args()
    coro = measure_bare_ceiling(
        sustained_events=args.sustained_events,
        lag_rate=args.lag_rate,
        lag_seconds=args.lag_seconds,
        consumers=args.consumers,
    )
    if args.uvloop:
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
