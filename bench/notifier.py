"""Notifier benchmark: 10,000 ``reminder.due`` events fanned out to the in-app inbox and a
partner webhook; deliveries per second, event-to-delivery latency, duplicates, losses.

1. A fresh PostgreSQL database, migrated by the notifier (``crm-notifier migrate``), and a
   throwaway RabbitMQ vhost. The notifier runs as a real process (``ServiceProcess``,
   ``crm-notifier serve``: consumer, outbox relay and both dispatchers on) with
   ``CRM_DEFAULT_CHANNELS=["inbox"]`` (each reminder: one inbox delivery, written delivered
   with its notification) and private webhook addresses allowed (the receiver is on
   127.0.0.1).
2. ``--users`` (200) recipients arrive as ``user.created`` events, as the gateway publishes
   them. A local receiver (aiohttp, a process of its own so the publisher's loop does not
   delay its clock) answers 200 to every POST and records the ``webhook-id``, its receipt
   time and the event's ``time`` from the body; it verifies the Standard Webhooks signature
   of every ``VERIFY_EVERY``-th request with the secret the subscription was created with
   (``POST /v1/webhooks`` as an admin, ``event_types: ["reminder.due"]``).
3. ``--warmup`` (100) reminders go through first and are waited for (not measured). Then
   ``--events`` (10,000) ``reminder.due`` CloudEvents, shaped as engagement publishes them
   (``docs/asyncapi.yaml`` ReminderDue; persistent, ``message_id`` the event id), to
   ``crm.events`` in the vhost, each event's ``time`` its publish moment: as fast as a
   publisher with confirms allows (``--window`` unconfirmed at once), or ``--rate`` per
   second. Recipients are spread over the users in turn.
4. Until every expected delivery is done (one inbox, one webhook per event), or nothing moved
   for ``--stall-seconds``, or ``--timeout``: inbox deliveries are ``delivery`` rows of the
   channel ``inbox`` (``delivered_at``: the handler's clock, committed with the event's inbox
   row), webhook deliveries the receiver's receipts.
   ``deliveries_per_s`` = all deliveries / (last delivery - first publish);
   ``p99_latency_ms`` (and p50/p95) of event time -> delivery, combined and per channel;
   ``duplicates`` = webhook-ids received more than once + events with more than one inbox
   notification for their recipient; ``lost`` = expected - delivered, both channels. The
   webhook path is split at the handler (``webhook_delivery.created_at``): event -> fanned
   out, fanned out -> received. CPU per process (notifier, PostgreSQL backends of this
   database, RabbitMQ, the receiver, this process) over the measured window.
   ``--profile`` samples the notifier with py-spy over the same window and prints its top
   frames (a profiled run's figures include the sampling's cost).

Target: ``deliveries_per_s`` >= 300. Results go to ``bench/results/notifier-<UTC
timestamp>.json`` and ``bench/results/notifier-latest.json``. The database and the vhost are
removed in a ``finally`` (unless ``--keep-database``).

Run from the repository root: ``uv run --frozen python bench/notifier.py`` (or
``make bench-notifier``); ``--help`` lists the knobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # run as a script or with -m
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import aio_pika
import asyncpg
import httpx
from aiohttp import web
from event_path import CpuMeter
from reporting import (
    REPO_ROOT,
    percentiles_ms,
    run_facts,
    start_profiler,
    stop_profiler,
    top_frames,
    write_results,
)
from standardwebhooks import Webhook, WebhookVerificationError

from crm_platform.events import CloudEvent
from crm_platform.events.broker import build_message, declare_exchange
from crm_platform.testing import (
    ServiceProcess,
    bearer,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    run_id,
)

LOG_DIR = REPO_ROOT / "var" / "bench-logs"
TARGET_DELIVERIES_PER_S = 300.0
EXCHANGE = "crm.events"
VERIFY_EVERY = 25  # the receiver checks the signature of every 25th request
POLL_SECONDS = 0.5
ADMIN_ID = "u-bench-admin"
TITLES = (
    "回访杭州星辰科技有限公司: 确认年度采购计划",
    "跟进上海远航机械的报价单审批",
    "行动项逾期: 寄送样品给苏州恒达电子",
    "Follow up with Shenzhen Bright Optics on the renewal",
    "保养计划: 宁波东方塑机季度巡检",
)
KINDS = ("next_follow_up", "action_item_overdue", "cadence_overdue", "plan_task")


def _dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --------------------------------------------------------------------------- the receiver


class Receiver:
    """A partner's endpoint: 200 to every POST; keeps (webhook-id, receipt, body)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, float, bytes]] = []
        self.ids: set[str] = set()
        self.secret: str | None = None
        self.verified = 0
        self.verify_failures: list[str] = []

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        received = time.time()
        webhook_id = request.headers.get("webhook-id", "")
        self.seen.append((webhook_id, received, body))
        self.ids.add(webhook_id)
        if self.secret is not None and len(self.seen) % VERIFY_EVERY == 1:
            try:
                Webhook(self.secret).verify(body, dict(request.headers))
                self.verified += 1
            except WebhookVerificationError as exc:
                self.verify_failures.append(f"{webhook_id}: {exc}")
        return web.Response(text="ok")

    async def set_secret(self, request: web.Request) -> web.Response:
        self.secret = (await request.json())["secret"]
        return web.json_response({"ok": True})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": len(self.seen), "unique": len(self.ids)})

    async def records(self, request: web.Request) -> web.Response:
        """Every receipt as [webhook-id, received (epoch s), event id, event time (epoch s)]."""
        rows = []
        for webhook_id, received, body in self.seen:
            event = json.loads(body)
            event_time = datetime.fromisoformat(event["time"]).timestamp()
            rows.append([webhook_id, received, event["id"], event_time])
        return web.json_response(
            {
                "rows": rows,
                "verified": self.verified,
                "verify_failures": self.verify_failures[:20],
                "verify_failure_count": len(self.verify_failures),
            }
        )


def serve_receiver(port: int) -> None:
    """The receiver process's main: serves until terminated."""
    receiver = Receiver()
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/hook", receiver.hook)
    app.router.add_post("/secret", receiver.set_secret)
    app.router.add_get("/stats", receiver.stats)
    app.router.add_get("/records", receiver.records)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class ReceiverProcess:
    def __init__(self) -> None:
        from crm_platform.testing import free_port

        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = (LOG_DIR / f"notifier-receiver-{self.port}.log").open("ab")
        command = [sys.executable, __file__, "--serve-receiver", str(self.port)]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self.launch()
        assert self.process is not None
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the receiver exited with {self.process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.url + "/stats")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError("the receiver did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --------------------------------------------------------------------------- the events


def user_event(n: int) -> CloudEvent:
    user_id = f"u-bench-{n:04d}"
    data = {
        "id": user_id,
        "username": f"bench{n:04d}",
        "display_name": f"销售{n:04d}",
        "email": f"bench{n:04d}@example.com",
        "mobile": None,
        "roles": ["sales_rep"],
        "active": True,
        "version": 1,
    }
    return CloudEvent.new(
        service="gateway", routing_key="user.created", subject=user_id, data=data, actor="system"
    )


def reminder_body(n: int, users: int, now: datetime) -> tuple[uuid.UUID, bytes]:
    """A ``reminder.due`` as engagement's scheduler publishes it, its ``time`` now."""
    due_at = now.replace(minute=0, second=0, microsecond=0)
    data = {
        "id": str(uuid.uuid4()),
        "kind": KINDS[n % len(KINDS)],
        "recipient_id": f"u-bench-{n % users:04d}",
        "customer_id": str(uuid.uuid4()),
        "subject_id": str(uuid.uuid4()),
        "title": TITLES[n % len(TITLES)],
        "due_on": due_at.date().isoformat(),
        "due_at": due_at.isoformat(),
        "fired_at": now.isoformat(),
        "late": False,
    }
    event = CloudEvent.new(
        service="engagement",
        routing_key="reminder.due",
        subject=data["id"],
        data=data,
        actor="system",
    )
    event.time = now
    return event.id, event.to_bytes()


class Publisher:
    """Publishes to ``crm.events`` with confirms, persistent, message id = event id."""

    def __init__(self, amqp_url: str) -> None:
        self.amqp_url = amqp_url
        self.connection: aio_pika.abc.AbstractConnection | None = None
        self.exchange: aio_pika.abc.AbstractExchange | None = None

    async def __aenter__(self) -> Publisher:
        self.connection = await aio_pika.connect(self.amqp_url)
        channel = await self.connection.channel(publisher_confirms=True)
        self.exchange = await declare_exchange(channel, EXCHANGE)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def send(self, event_id: uuid.UUID, body: bytes, routing_key: str) -> None:
        assert self.exchange is not None
        await self.exchange.publish(
            build_message(body, message_id=str(event_id)), routing_key=routing_key
        )

    async def reminders(
        self, count: int, users: int, *, window: int, rate: float, offset: int = 0
    ) -> tuple[dict[uuid.UUID, float], float]:
        """``count`` reminders; answers each event's time (epoch s) and the publish seconds.
        ``rate`` 0: back to back, ``window`` unconfirmed at a time; else that many a second."""
        sent: dict[uuid.UUID, float] = {}
        limit = asyncio.Semaphore(window)
        started = time.perf_counter()

        async def one(n: int) -> None:
            async with limit:
                now = datetime.now(UTC)
                event_id, body = reminder_body(offset + n, users, now)
                sent[event_id] = now.timestamp()
                await self.send(event_id, body, "reminder.due")

        tasks: list[asyncio.Task[None]] = []
        for n in range(count):
            if rate > 0:
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                await limit.acquire()  # do not make 10,000 tasks at once
                limit.release()
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
        return sent, time.perf_counter() - started


# --------------------------------------------------------------------------- measuring


INBOX_COUNT = "SELECT count(*) FROM delivery WHERE channel = 'inbox' AND status = 'delivered'"


async def wait_for(
    what: str,
    probe: Any,
    target: int,
    *,
    stall_seconds: float,
    timeout: float,
) -> tuple[int, bool]:
    """Polls ``probe()`` until it reaches ``target``; gives up when it has not moved for
    ``stall_seconds`` or after ``timeout``. Answers the last value and whether it got there."""
    started = last_move = time.monotonic()
    last = -1
    while True:
        value = await probe()
        now = time.monotonic()
        if value != last:
            last, last_move = value, now
        if value >= target:
            return value, True
        if now - last_move > stall_seconds or now - started > timeout:
            print(f"\n  gave up waiting for {what}: {value}/{target}")
            return value, False
        await asyncio.sleep(POLL_SECONDS)


async def measure(
    args: argparse.Namespace,
    process: ServiceProcess,
    receiver: ReceiverProcess,
    database: str,
    dsn: str,
    amqp_url: str,
) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn)
    http = httpx.AsyncClient(base_url=receiver.url, timeout=30)
    try:

        async def inbox_count() -> int:
            return int(await connection.fetchval(INBOX_COUNT))

        async def webhook_count() -> int:
            return int((await http.get("/stats")).json()["unique"])

        async def both() -> int:
            return await inbox_count() + await webhook_count()

        async with Publisher(amqp_url) as publisher:
            # Warm-up: caches, the template, connections; waited for, not measured.
            if args.warmup:
                await publisher.reminders(args.warmup, args.users, window=args.window, rate=0)
                _, ok = await wait_for(
                    "the warm-up", both, 2 * args.warmup, stall_seconds=30, timeout=120
                )
                if not ok:
                    raise SystemExit("the warm-up's deliveries did not all arrive")
            before_inbox, before_webhook = await inbox_count(), await webhook_count()

            pids = {"notifier": process.process.pid} if process.process else {}
            if receiver.process is not None:
                pids["receiver"] = receiver.process.pid
            meter = CpuMeter(pids | {"bench": os.getpid()}, pg_match=f" {database} ")
            meter.start()
            profile = None
            profiler = None
            if args.profile:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                profile = LOG_DIR / f"notifier-{stamp}.txt"
                profiler = start_profiler(process, profile)
            print(f"publishing {args.events:,} reminder.due ({publishing(args)}) ...", flush=True)
            sent, publish_seconds = await publisher.reminders(
                args.events, args.users, window=args.window, rate=args.rate, offset=args.warmup
            )
        print(
            f"  published in {publish_seconds:.2f} s ({args.events / publish_seconds:,.0f}/s);"
            " waiting for the deliveries ...",
            flush=True,
        )
        expected = 2 * args.events

        async def progress() -> int:
            done = await inbox_count() - before_inbox + await webhook_count() - before_webhook
            print(f"\r  delivered {done:>6,}/{expected:,}", end="", flush=True)
            return done

        _, complete = await wait_for(
            "the deliveries",
            progress,
            expected,
            stall_seconds=args.stall_seconds,
            timeout=args.timeout,
        )
        print()
        cpu = await meter.stop(expected)
        if profiler is not None and profile is not None:
            stop_profiler(profiler, profile)
        await asyncio.sleep(1.0)  # a straggling repeat of a webhook would show now
        records = (await http.get("/records")).json()
        inbox_rows = await connection.fetch(
            "SELECT n.event_id, n.recipient_id, d.delivered_at, d.status"
            " FROM notification AS n JOIN delivery AS d ON d.notification_id = n.id"
            " WHERE n.event_type = 'reminder.due' AND d.channel = 'inbox'"
        )
        notification_repeats = await connection.fetchval(
            "SELECT count(*) FROM (SELECT event_id, recipient_id FROM notification"
            " WHERE event_type = 'reminder.due' GROUP BY event_id, recipient_id"
            " HAVING count(*) > 1) AS repeated"
        )
        handled_rows = await connection.fetch(
            "SELECT id, event_id, created_at, status, attempts FROM webhook_delivery"
        )
    finally:
        await http.aclose()
        await connection.close()
    result = figures(args, sent, records, inbox_rows, handled_rows, int(notification_repeats))
    result.update(complete=complete, publish_seconds=round(publish_seconds, 2), cpu=cpu)
    result["publish_per_s"] = round(args.events / publish_seconds, 1)
    if profile is not None:
        result["profile"] = {"file": str(profile), **top_frames(profile)}
    return result


def figures(
    args: argparse.Namespace,
    sent: dict[uuid.UUID, float],
    records: dict[str, Any],
    inbox_rows: Sequence[Any],
    handled_rows: Sequence[Any],
    notification_repeats: int,
) -> dict[str, Any]:
    first_publish = min(sent.values())
    # webhook: each receipt of a measured event
    receipts: Counter[str] = Counter()
    webhook_latency: list[float] = []
    webhook_done: dict[uuid.UUID, float] = {}
    for webhook_id, received, event_id, event_time in records["rows"]:
        event = uuid.UUID(event_id)
        if event not in sent:
            continue  # a warm-up event
        receipts[webhook_id] += 1
        if receipts[webhook_id] > 1:
            continue
        if event not in webhook_done:
            webhook_latency.append(received - event_time)
            webhook_done[event] = received
    webhook_repeats = sum(1 for n in receipts.values() if n > 1)
    events_per_webhook_ids = Counter(
        uuid.UUID(event_id) for webhook_id, _, event_id, _ in records["rows"]
    )
    # inbox: one delivered row per measured event
    inbox_latency: list[float] = []
    inbox_done: dict[uuid.UUID, float] = {}
    inbox_extra = 0
    for row in inbox_rows:
        if row["event_id"] not in sent or row["status"] != "delivered":
            continue
        if row["event_id"] in inbox_done:
            inbox_extra += 1
            continue
        delivered = row["delivered_at"].timestamp()
        inbox_done[row["event_id"]] = delivered
        inbox_latency.append(delivered - sent[row["event_id"]])
    # the webhook path split at the handler
    handled: dict[str, float] = {}
    to_handler: list[float] = []
    for row in handled_rows:
        if row["event_id"] in sent:
            moment = row["created_at"].timestamp()
            handled[str(row["id"])] = moment
            to_handler.append(moment - sent[row["event_id"]])
    handler_to_receipt = [
        received - handled[webhook_id]
        for webhook_id, received, _, _ in records["rows"]
        if webhook_id in handled
    ]
    last = max([*webhook_done.values(), *inbox_done.values()], default=first_publish)
    delivered = len(webhook_done) + len(inbox_done)
    span = max(last - first_publish, 1e-9)

    def channel(done: dict[uuid.UUID, float], latency: list[float]) -> dict[str, Any]:
        cut = percentiles_ms(latency)
        end = max(done.values(), default=first_publish)
        return {
            "delivered": len(done),
            "lost": args.events - len(done),
            "per_s": round(len(done) / max(end - first_publish, 1e-9), 1),
            "last_delivery_s": round(end - first_publish, 2),
            "latency_ms": cut,
        }

    combined = percentiles_ms([*webhook_latency, *inbox_latency])
    several_ids = sum(1 for n in events_per_webhook_ids.values() if n > 1)
    duplicates = webhook_repeats + several_ids + notification_repeats + inbox_extra
    return {
        "events": args.events,
        "expected_deliveries": 2 * args.events,
        "delivered": delivered,
        "deliveries_per_s": round(delivered / span, 1),
        "seconds_first_publish_to_last_delivery": round(span, 2),
        "p50_latency_ms": combined.get("p50"),
        "p95_latency_ms": combined.get("p95"),
        "p99_latency_ms": combined.get("p99"),
        "latency_ms": combined,
        "duplicates": duplicates,
        "duplicates_detail": {
            "webhook_ids_received_more_than_once": webhook_repeats,
            "events_received_under_several_webhook_ids": several_ids,
            "events_with_repeated_notification": notification_repeats,
            "extra_inbox_deliveries": inbox_extra,
        },
        "lost": 2 * args.events - delivered,
        "inbox": channel(inbox_done, inbox_latency),
        "webhook": channel(webhook_done, webhook_latency)
        | {
            "stages_ms": {
                "event_to_fanned_out": percentiles_ms(to_handler),
                "fanned_out_to_received": percentiles_ms(handler_to_receipt),
            },
            "signatures_verified": records["verified"],
            "signature_failures": records["verify_failure_count"],
            "signature_failure_samples": records["verify_failures"],
            "attempts": dict(Counter(int(r["attempts"]) for r in handled_rows)),
        },
    }


# --------------------------------------------------------------------------- the run


def publishing(args: argparse.Namespace) -> str:
    return f"{args.rate:g}/s" if args.rate > 0 else f"back to back, {args.window} unconfirmed"


async def seed_users(
    amqp_url: str, dsn: str, users: int, process: ServiceProcess
) -> dict[str, Any]:
    started = time.perf_counter()
    async with Publisher(amqp_url) as publisher:
        events = [user_event(n) for n in range(users)]
        await asyncio.gather(*(publisher.send(e.id, e.to_bytes(), e.routing_key) for e in events))
    connection = await asyncpg.connect(dsn)
    try:

        async def count() -> int:
            return int(await connection.fetchval("SELECT count(*) FROM user_replica"))

        seeded, ok = await wait_for("the users", count, users, stall_seconds=30, timeout=120)
    finally:
        await connection.close()
    if not ok:
        raise SystemExit(f"only {seeded} of {users} users reached the notifier")
    return {"users": seeded, "seconds": round(time.perf_counter() - started, 2)}


async def subscribe(process: ServiceProcess, secret: str, receiver: ReceiverProcess) -> str:
    headers = bearer(secret, "admin", subject=ADMIN_ID, ttl_seconds=600)
    async with httpx.AsyncClient(base_url=process.url, timeout=30) as client:
        response = await client.post(
            "/v1/webhooks",
            json={
                "partner": "Bench partner",
                "url": receiver.url + "/hook",
                "event_types": ["reminder.due"],
            },
            headers=headers,
        )
    if response.status_code != 201:
        raise SystemExit(f"POST /v1/webhooks: {response.status_code} {response.text}")
    created = response.json()
    async with httpx.AsyncClient(base_url=receiver.url, timeout=10) as client:
        await client.post("/secret", json={"secret": created["secret"]})
    return str(created["id"])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = run_id()
    database = f"bench_notifier_{tag}"
    vhost = f"bench-notifier-{tag}"
    token_secret = secrets.token_urlsafe(48)
    result: dict[str, Any] = {
        "benchmark": "notifier",
        "started_at": datetime.now(UTC).isoformat(),
        "events": args.events,
        "users": args.users,
        "publishing": publishing(args),
        "load_average_before": os.getloadavg(),
    }
    created_database = created_vhost = False
    process: ServiceProcess | None = None
    receiver = ReceiverProcess()
    try:
        url = await create_database(database)
        created_database = True
        amqp_url = await asyncio.to_thread(create_vhost, vhost)
        created_vhost = True
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        env = {
            "CRM_NOTIFIER_DATABASE_URL": url,
            "CRM_AMQP_URL": amqp_url,
            "CRM_EVENTS_EXCHANGE": EXCHANGE,
            "CRM_LOG_LEVEL": "WARNING",
            "CRM_ENVIRONMENT": "development",
            "CRM_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            "CRM_INTERNAL_TOKEN_SECRET": token_secret,
            "CRM_DEFAULT_CHANNELS": '["inbox"]',
        }
        env |= dict(item.split("=", 1) for item in args.env)
        result["notifier_env"] = {
            k: v for k, v in env.items() if k not in ("CRM_INTERNAL_TOKEN_SECRET",)
        }
        process = ServiceProcess("notifier", env=env, log_dir=LOG_DIR)
        await asyncio.to_thread(process.migrate)
        await process.start()
        await receiver.start()
        print(f"notifier on {process.url}, receiver on {receiver.url}, database {database}")
        result["seed"] = await seed_users(amqp_url, _dsn(url), args.users, process)
        print(f"  seeded {result['seed']['users']} users in {result['seed']['seconds']} s")
        result["subscription_id"] = await subscribe(process, token_secret, receiver)
        measured = await measure(args, process, receiver, database, _dsn(url), amqp_url)
        result.update(measured)
        result["service_log"] = str(LOG_DIR / f"notifier-{process.port}.log")
    finally:
        receiver.stop()
        if process is not None:
            process.stop()
        if created_vhost:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(delete_vhost, vhost)
        if created_database and not args.keep_database:
            await drop_database(database)
        elif created_database:
            print(f"  kept database {database} (--keep-database)")
    result.update(
        target_deliveries_per_s=TARGET_DELIVERIES_PER_S,
        passed=result.get("deliveries_per_s", 0) >= TARGET_DELIVERIES_PER_S
        and result.get("lost") == 0
        and result.get("duplicates") == 0,
        profiled=args.profile,
    )
    result.update(run_facts())
    return result


def summary(result: dict[str, Any]) -> str:
    def latency(cut: dict[str, Any]) -> str:
        return f"p50 {cut.get('p50')} / p95 {cut.get('p95')} / p99 {cut.get('p99')} ms"

    inbox, webhook = result["inbox"], result["webhook"]
    mark = "PASS" if result["passed"] else "FAIL"
    cpu = result.get("cpu") or {}
    lines = [
        "",
        f"notifier: {result['events']:,} reminder.due to {result['users']} users, inbox +"
        f" webhook ({result['publishing']}; {result['machine']['cpu_count']} CPUs,"
        f" {result['git_revision']}, load {result['load_average_before'][0]:.2f} ->"
        f" {result['load_average_after'][0]:.2f}{', profiled' if result['profiled'] else ''})",
        f"  published in {result['publish_seconds']} s ({result['publish_per_s']}/s)",
        f"  deliveries: {result['delivered']:,}/{result['expected_deliveries']:,} in"
        f" {result['seconds_first_publish_to_last_delivery']} s:"
        f" {result['deliveries_per_s']}/s (target >= {TARGET_DELIVERIES_PER_S:g}) {mark}",
        f"  event -> delivery, all: {latency(result['latency_ms'])}",
        f"    inbox:   {latency(inbox['latency_ms'])} ({inbox['delivered']:,}, {inbox['per_s']}/s)",
        f"    webhook: {latency(webhook['latency_ms'])} ({webhook['delivered']:,},"
        f" {webhook['per_s']}/s)",
        f"      event -> fanned out: {latency(webhook['stages_ms']['event_to_fanned_out'])}",
        f"      fanned out -> received: {latency(webhook['stages_ms']['fanned_out_to_received'])}",
        f"  duplicates {result['duplicates']}, lost {result['lost']}; signatures verified"
        f" {webhook['signatures_verified']}, failed {webhook['signature_failures']}",
        f"  CPU ms per delivery: {cpu.get('ms_per_event')} (cores used"
        f" {cpu.get('cores_used_by_run')}, other {cpu.get('other_cores')})",
    ]
    profile = result.get("profile")
    if profile:
        lines.append(f"  profile of the notifier ({profile['samples']} samples), self:")
        lines += [f"    {line}" for line in profile["self"][:12]]
        lines.append("  notifier code, inclusive:")
        lines += [f"    {line}" for line in profile["crm_inclusive"][:15]]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="reminder.due events")
    parser.add_argument("--users", type=int, default=200, help="recipients (user.created)")
    parser.add_argument("--warmup", type=int, default=100, help="reminders before, unmeasured")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="events per second (0: back to back)"
    )
    parser.add_argument("--window", type=int, default=256, help="unconfirmed publishes at once")
    parser.add_argument(
        "--stall-seconds", type=float, default=60.0, help="give up when nothing moved this long"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after, seconds")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra notifier setting, e.g. CRM_CONSUMER_BATCH_SIZE=64 (repeatable)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the notifier over the measured window (var/bench-logs/notifier-*.txt)",
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--serve-receiver", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    if args.serve_receiver:
        serve_receiver(args.serve_receiver)
        return
    result = asyncio.run(run(args))
    path = write_results("notifier", result)
    print(summary(result))
    print(f"  results: {path}")


if __name__ == "__main__":
    main()
