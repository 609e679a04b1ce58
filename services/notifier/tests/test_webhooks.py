"""Partner webhooks end to end on a migrated PostgreSQL: subscriptions over the API, events
fanned out to deliveries, and the dispatcher's rounds (called here with a fake clock, never
waited for) sending to a local receiver that verifies the Standard Webhooks signature."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from crm_notifier.domain import webhooks
from crm_notifier.domain.context import system_context
from crm_notifier.domain.kinds import Kind
from crm_notifier.domain.webhook_addresses import refusal_of
from crm_notifier.domain.webhook_commands import CreateSubscription
from crm_notifier.domain.webhook_dispatcher import WebhookDispatcher
from crm_notifier.events.handlers import replicate_user
from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.events import CloudEvent
from crm_platform.testing import FakeClock, bearer, running_app

from .conftest import INTERNAL_TOKEN_SECRET

ADMIN_ID = "u-admin"
ADMIN = bearer(INTERNAL_TOKEN_SECRET, "admin", subject=ADMIN_ID)
PARTNER = bearer(INTERNAL_TOKEN_SECRET, "service_supervisor", subject="u-partner")
OTHER = bearer(INTERNAL_TOKEN_SECRET, "sales_manager", subject="u-other")


# -- a local receiver -------------------------------------------------------------------------


@dataclass
class Receiver:
    """Answers the statuses in ``script`` in turn, then 200; keeps every request."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    requests: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    received: int = 0  # requests answered 2xx

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((body, dict(request.headers)))
        status = self.script.pop(0) if self.script else 200
        if 200 <= status < 300:
            self.received += 1
        return web.Response(status=status, text="ok" if status < 300 else "down")


@asynccontextmanager
async def receiver_running() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()


# -- the app with a fake clock and the dispatcher called by hand ------------------------------


@dataclass
class Env:
    client: httpx.AsyncClient
    settings: Settings
    clock: FakeClock
    dispatcher: WebhookDispatcher
    sessionmaker: Any

    async def fan_out(self, event: CloudEvent) -> int:
        async with self.sessionmaker() as session, session.begin():
            return await webhooks.fan_out(session, event, clock=self.clock)

    async def rounds(self, count: int, *, hours: float = 2) -> None:
        """``count`` dispatcher rounds, the clock ``hours`` on after each (past any backoff)."""
        for _ in range(count):
            await self.dispatcher.dispatch_once()
            self.clock.advance(hours=hours)

    async def subscribe(self, url: str, patterns: list[str], headers: dict[str, str] = ADMIN):
        response = await self.client.post(
            "/v1/webhooks",
            json={"partner": "Acme", "url": url, "event_types": patterns},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def deliveries(self, subscription_id: str, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/webhooks/{subscription_id}/deliveries", params=params, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]


EnvFactory = Callable[..., Any]


@pytest.fixture
async def env(settings: Settings) -> AsyncIterator[EnvFactory]:
    """``async with env(**settings_overrides) as e`` — a local receiver on 127.0.0.1 needs
    development mode (http, private addresses) unless the test says otherwise."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Env]:
        values = {
            "environment": "development",
            "dispatcher_enabled": False,
            "delivery_backoff_seconds": 1.0,
            "http_timeout_seconds": 5.0,
            **overrides,
        }
        test_settings = settings.model_copy(update=values)
        clock = FakeClock(datetime.now(UTC))
        app = create_app(test_settings, clock=clock)
        async with running_app(app, "http://notifier") as client:
            sessionmaker = app.state.runtime.sessionmaker
            dispatcher = WebhookDispatcher(sessionmaker, test_settings, clock=clock)
            made = Env(client, test_settings, clock, dispatcher, sessionmaker)
            try:
                yield made
            finally:
                await dispatcher.aclose()
                await made.dispatcher.aclose()  # one a test put in its place

    yield make


def event(routing_key: str = "ticket.created", **data: Any) -> CloudEvent:
    return CloudEvent.new(
        service="service-desk",
        routing_key=routing_key,
        subject="t-1",
        data={"code": "T-1", **data},
    )


# -- topic patterns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "routing_key", "matches"),
    [
        ("ticket.created", "ticket.created", True),
        ("ticket.created", "ticket.closed", False),
        ("ticket.*", "ticket.created", True),
        ("ticket.*", "ticket.sla.breached", False),
        ("ticket.*", "ticket", False),
        ("*.created", "customer.created", True),
        ("customer.#", "customer", True),
        ("customer.#", "customer.created", True),
        ("customer.#", "customer.owner.changed", True),
        ("customer.#", "customers.created", False),
        ("#", "anything.at.all", True),
        ("#.breached", "ticket.sla.breached", True),
        ("#.breached", "breached", True),
        ("ticket.#.breached", "ticket.breached", True),
        ("ticket.#.breached", "ticket.sla.breached", True),
        ("ticket.#.breached", "ticket.sla.warned", False),
        ("*.*", "ticket.created", True),
        ("*.*", "ticket", False),
        ("#.#.#.#.#.#.#.#.x", "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", False),
    ],
)
def test_topic_patterns_match_like_the_bus(pattern: str, routing_key: str, matches: bool) -> None:
    assert webhooks.topic_matches(pattern, routing_key) is matches


@pytest.mark.parametrize(
    ("pattern", "valid"),
    [("ticket.*", True), ("customer.#", True), ("a_b-c.d", True), ("ticket.", False),
     ("ti*cket", False), ("", False), ("a..b", False), ("a b", False)],
)  # fmt: skip
def test_pattern_syntax(pattern: str, valid: bool) -> None:
    assert webhooks.valid_pattern(pattern) is valid


@pytest.mark.parametrize(
    ("address", "refused"),
    [("127.0.0.1", True), ("10.0.0.5", True), ("172.16.3.4", True), ("192.168.1.1", True),
     ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True),
     ("::1", True), ("::ffff:127.0.0.1", True), ("fe80::1%eth0", True), ("fd00::1", True),
     ("93.184.216.34", False), ("2606:4700::1111", False)],
)  # fmt: skip
def test_addresses_webhooks_may_not_reach(address: str, refused: bool) -> None:
    assert (refusal_of(address) is not None) is refused


# -- delivery ---------------------------------------------------------------------------------


async def test_a_local_receiver_gets_the_event_signed_per_standard_webhooks(env) -> None:
    async with receiver_running() as receiver, env() as e:
        created = await e.subscribe(receiver.url, ["ticket.*"])
        secret = created["secret"]
        assert secret.startswith("whsec_")
        sent = event("ticket.created")
        assert await e.fan_out(sent) == 1
        assert await e.fan_out(event("customer.created")) == 0  # no pattern matches

        assert await e.dispatcher.dispatch_once() == 1

        [(body, headers)] = receiver.requests
        assert headers["Content-Type"] == "application/json"
        payload = Webhook(secret).verify(body, headers)  # raises unless signed with the secret
        assert payload == json.loads(sent.model_dump_json())
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
        [delivery] = await e.deliveries(created["id"])
        assert headers["webhook-id"] == delivery["id"]
        assert delivery["status"] == "delivered"
        assert delivery["attempts"] == 1
        assert delivery["response_status"] == 200
        assert delivery["event_type"] == "ticket.created"
        assert delivery["event_id"] == str(sent.id)
        assert [entry["status"] for entry in delivery["log"]] == [200]
        assert await e.dispatcher.dispatch_once() == 0  # nothing more to send


async def test_the_same_event_delivered_twice_gives_one_delivery(env) -> None:
    async with receiver_running() as receiver, env() as e:
        created = await e.subscribe(receiver.url, ["customer.#", "customer.created"])
        sent = event("customer.created")
        assert await e.fan_out(sent) == 1
        assert await e.fan_out(sent) == 0  # the bus redelivered it
        await e.rounds(2)
        assert len(await e.deliveries(created["id"])) == 1
        assert receiver.received == 1


async def test_fan_out_reads_the_subscriptions_once_per_session(env) -> None:
    """The consumer applies a batch of events in one session: the subscriptions are read for
    its first event, so one written elsewhere meanwhile reaches the next batch; one written
    through the session itself counts at once."""
    async with env() as e:
        ctx = system_context(e.settings, e.clock)
        url = "http://127.0.0.1:9/hook"
        async with e.sessionmaker() as session, session.begin():
            assert await webhooks.fan_out(session, event("ticket.created"), clock=e.clock) == 0
            command = CreateSubscription(partner="Acme", url=url, event_types=("ticket.*",))
            await webhooks.create_subscription(session, ctx, command)
            assert await webhooks.fan_out(session, event("ticket.created"), clock=e.clock) == 1
        async with e.sessionmaker() as session, session.begin():
            assert await webhooks.fan_out(session, event("customer.created"), clock=e.clock) == 0
            await e.subscribe(url, ["customer.*"])  # the API's own session
            assert await webhooks.fan_out(session, event("customer.created"), clock=e.clock) == 0
        assert await e.fan_out(event("customer.created")) == 1


async def test_a_receiver_down_three_times_then_up_gets_it_exactly_once(env) -> None:
    async with receiver_running() as receiver, env(delivery_max_attempts=8) as e:
        created = await e.subscribe(receiver.url, ["ticket.created"])
        receiver.script = [503, 503, 503]
        await e.fan_out(event())
        await e.dispatcher.dispatch_once()
        [delivery] = await e.deliveries(created["id"])
        assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == (
            "pending",
            1,
            "HTTP 503",
        )
        assert await e.dispatcher.dispatch_once() == 0  # backing off: not due yet
        e.clock.advance(hours=2)

        await e.rounds(5)

        assert receiver.received == 1
        assert len(receiver.requests) == 4
        assert len({headers["webhook-id"] for _, headers in receiver.requests}) == 1
        [delivery] = await e.deliveries(created["id"], status="delivered")
        assert delivery["attempts"] == 4
        assert [entry["status"] for entry in delivery["log"]] == [503, 503, 503, 200]
        subscription = (await e.client.get(f"/v1/webhooks/{created['id']}", headers=ADMIN)).json()
        assert subscription["consecutive_failures"] == 0
        assert subscription["active"] is True


async def test_a_receiver_that_stays_down_ends_failed_with_the_reason(env) -> None:
    async with receiver_running() as receiver, env(delivery_max_attempts=4) as e:
        created = await e.subscribe(receiver.url, ["ticket.created"])
        receiver.script = [500] * 100
        await e.fan_out(event())
        await e.rounds(6)
        assert len(receiver.requests) == 4
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "failed"
        assert delivery["attempts"] == 4
        assert delivery["last_error"] == "HTTP 500 (gave up after 4 attempts)"
        assert delivery["response_status"] == 500
        assert await e.deliveries(created["id"], status="pending") == []


async def test_a_receiver_that_refuses_connections_fails_with_the_reason(env) -> None:
    async with receiver_running() as receiver:
        gone = receiver.url
    async with env(delivery_max_attempts=2) as e:
        created = await e.subscribe(gone, ["ticket.created"])
        await e.fan_out(event())
        await e.rounds(2)
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "failed"
        assert delivery["last_error"].startswith("ConnectError")
        assert delivery["last_error"].endswith("(gave up after 2 attempts)")


async def admin_inbox(e: Env) -> list[dict[str, Any]]:
    response = await e.client.get("/v1/notifications", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_sustained_failure_disables_the_subscription_and_tells_the_admins(env) -> None:
    async with (
        receiver_running() as receiver,
        env(
            delivery_max_attempts=20,
            webhook_disable_after_failures=3,
            webhook_disable_after_hours=1.0,
        ) as e,
    ):
        admin = CloudEvent.new(
            service="gateway",
            routing_key="user.created",
            subject=ADMIN_ID,
            data={
                "id": ADMIN_ID,
                "username": "admin",
                "display_name": "管理员",
                "roles": ["admin"],
            },
            actor="t",
        )
        async with e.sessionmaker() as session, session.begin():
            await replicate_user(session, admin)
        created = await e.subscribe(receiver.url, ["ticket.created"])
        receiver.script = [503] * 6
        await e.fan_out(event())
        # Four failures within a minute: many, but not sustained for an hour yet.
        await e.rounds(4, hours=1 / 60)
        subscription = (await e.client.get(f"/v1/webhooks/{created['id']}", headers=ADMIN)).json()
        assert subscription["active"] is True
        assert subscription["consecutive_failures"] == 4
        assert await admin_inbox(e) == []

        e.clock.advance(hours=1)
        await e.rounds(1)  # the fifth failure, more than an hour after the first

        subscription = (await e.client.get(f"/v1/webhooks/{created['id']}", headers=ADMIN)).json()
        assert subscription["active"] is False
        assert "5 failed deliveries in a row" in subscription["disabled_reason"]
        assert "HTTP 503" in subscription["disabled_reason"]
        [notice] = await admin_inbox(e)  # in the admin's inbox, from the same transaction
        assert notice["kind"] == Kind.WEBHOOK_DISABLED.value and notice["urgent"] is True
        assert "Acme" in notice["body"] and receiver.url in notice["body"]
        # Disabled: its delivery waits, new events are not queued for it, replay is refused.
        await e.rounds(3)
        assert len(receiver.requests) == 5
        assert await e.fan_out(event()) == 0
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "pending"

        # Enabled again (the receiver is up by now): the delivery goes out.
        receiver.script = []
        response = await e.client.patch(
            f"/v1/webhooks/{created['id']}",
            json={"active": True},
            headers={**ADMIN, "if-match": f'"{subscription["version"]}"'},
        )
        assert response.status_code == 200, response.text
        assert response.json()["consecutive_failures"] == 0
        await e.rounds(1)
        assert receiver.received == 1
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "delivered"
        assert len(await admin_inbox(e)) == 1  # told once


async def test_replay_sends_a_delivery_again(env) -> None:
    async with receiver_running() as receiver, env() as e:
        created = await e.subscribe(receiver.url, ["ticket.created"])
        await e.fan_out(event())
        await e.rounds(1)
        [delivery] = await e.deliveries(created["id"])
        replay_path = f"/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/replay"

        response = await e.client.post(replay_path, headers=ADMIN)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "pending"
        again = await e.client.post(replay_path, headers=ADMIN)
        assert again.status_code == 409  # still pending

        await e.rounds(1)
        assert receiver.received == 2
        first, second = (headers for _, headers in receiver.requests)
        assert first["webhook-id"] == second["webhook-id"] == delivery["id"]
        Webhook(created["secret"]).verify(receiver.requests[1][0], second)
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "delivered"
        assert delivery["log"][1]["replay_by"] == "u-admin"
        missing = await e.client.post(
            f"/v1/webhooks/{created['id']}/deliveries/{created['id']}/replay", headers=ADMIN
        )
        assert missing.status_code == 404


# -- subscriptions ----------------------------------------------------------------------------


async def test_the_secret_is_shown_only_on_create_and_rotation(env) -> None:
    async with receiver_running() as receiver, env() as e:
        body = {"partner": "Acme", "url": receiver.url, "event_types": ["ticket.created"]}
        key = {**ADMIN, "idempotency-key": "sub-1"}
        first = await e.client.post("/v1/webhooks", json=body, headers=key)
        assert first.status_code == 201
        created = first.json()
        repeat = await e.client.post("/v1/webhooks", json=body, headers=key)
        assert repeat.status_code == 201
        assert repeat.json()["id"] == created["id"]
        assert repeat.json()["secret"] is None  # never stored in clear

        one = await e.client.get(f"/v1/webhooks/{created['id']}", headers=ADMIN)
        assert "secret" not in one.json()
        assert one.headers["etag"] == f'"{created["version"]}"'
        listed = await e.client.get("/v1/webhooks", headers=ADMIN)
        assert listed.json()["total"] == 1
        assert all("secret" not in item for item in listed.json()["items"])
        assert created["secret"] not in one.text + listed.text

        rotated = await e.client.post(f"/v1/webhooks/{created['id']}/rotate-secret", headers=ADMIN)
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret.startswith("whsec_") and new_secret != created["secret"]
        await e.fan_out(event())
        await e.rounds(1)
        [(payload, headers)] = receiver.requests
        Webhook(new_secret).verify(payload, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(created["secret"]).verify(payload, headers)


async def test_outside_development_private_and_plain_http_urls_are_refused(env) -> None:
    async with env(environment="test", webhook_allow_private_addresses=False) as e:
        for url in (
            "https://127.0.0.1/hook",
            "https://10.0.0.5/hook",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data",
            "http://example.com/hook",
            "https://user:pw@example.com/hook",
            "not a url",
        ):
            response = await e.client.post(
                "/v1/webhooks",
                json={"partner": "Acme", "url": url, "event_types": ["ticket.*"]},
                headers=ADMIN,
            )
            assert response.status_code == 422, (url, response.text)
            assert response.json()["errors"][0]["field"] == "body.url", url
        assert (await e.client.get("/v1/webhooks", headers=ADMIN)).json()["total"] == 0


async def test_addresses_are_checked_again_when_sending(env) -> None:
    """A host that resolved to a public address when subscribed and to a private one now
    (DNS rebinding) is refused at connection time: here, a subscription written while
    private addresses were allowed, sent by a dispatcher that refuses them."""
    async with receiver_running() as receiver, env(delivery_max_attempts=1) as e:
        created = await e.subscribe(receiver.url, ["ticket.created"])
        await e.fan_out(event())
        strict = e.settings.model_copy(
            update={"environment": "production", "webhook_allow_private_addresses": False}
        )
        dispatcher = WebhookDispatcher(e.sessionmaker, strict, clock=e.clock)
        try:
            assert await dispatcher.dispatch_once() == 1
        finally:
            await dispatcher.aclose()
        assert receiver.requests == []
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "failed"
        assert (
            "address refused: 127.0.0.1 resolves to 127.0.0.1 is a loopback address"
            in (delivery["last_error"])
        )


async def test_a_partner_manages_only_its_own_subscriptions(env) -> None:
    async with receiver_running() as receiver, env() as e:
        mine = await e.subscribe(receiver.url, ["ticket.created"], headers=PARTNER)
        await e.subscribe(receiver.url, ["customer.#"], headers=ADMIN)
        assert mine["created_by"] == "u-partner"

        own = (await e.client.get("/v1/webhooks", headers=PARTNER)).json()
        assert [item["id"] for item in own["items"]] == [mine["id"]]
        assert (await e.client.get("/v1/webhooks", headers=ADMIN)).json()["total"] == 2
        path = f"/v1/webhooks/{mine['id']}"
        assert (await e.client.get(path, headers=OTHER)).status_code == 404
        assert (await e.client.delete(path, headers=OTHER)).status_code == 404
        assert (await e.client.get(path, headers=PARTNER)).status_code == 200

        no_version = await e.client.patch(path, json={"event_types": ["#"]}, headers=PARTNER)
        assert no_version.status_code == 428
        stale = await e.client.patch(
            path, json={"event_types": ["#"], "version": mine["version"] + 1}, headers=PARTNER
        )
        assert stale.status_code == 409
        changed = await e.client.patch(
            path, json={"event_types": ["#"], "version": mine["version"]}, headers=PARTNER
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["event_types"] == ["#"]
        assert changed.json()["version"] == mine["version"] + 1
        bad = await e.client.patch(
            path, json={"event_types": ["ticket."], "version": mine["version"] + 1}, headers=PARTNER
        )
        assert bad.status_code == 422

        assert (await e.client.delete(path, headers=PARTNER)).status_code == 204
        assert (await e.client.get(path, headers=PARTNER)).status_code == 404


async def test_a_send_that_raises_counts_as_a_failed_attempt(env) -> None:
    """A bug while sending (here the HTTP client raises) is a failed attempt with a reason,
    not a delivery left claimed and retried without end."""

    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    async with env(delivery_max_attempts=2) as e:
        created = await e.subscribe("http://127.0.0.1:9/hook", ["ticket.created"])
        await e.fan_out(event())
        e.dispatcher = WebhookDispatcher(
            e.sessionmaker,
            e.settings,
            lambda: httpx.AsyncClient(transport=httpx.MockTransport(broken)),
            e.clock,
        )
        await e.rounds(3)
        [delivery] = await e.deliveries(created["id"])
        assert delivery["status"] == "failed"
        assert delivery["last_error"] == "internal error: RuntimeError (gave up after 2 attempts)"
