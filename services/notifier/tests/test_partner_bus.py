"""Partners on the bus, against the run's own RabbitMQ vhost and its management API: an admin
provisions a partner's queue and broker user; the partner, connected as that user, receives
exactly the events its patterns match and the broker refuses it everything else (another queue,
declaring, publishing); revoking deletes the user (its login then fails, its open connection
is closed) and, on request, the queue. A failed broker step or a rolled-back transaction
leaves nothing on the broker, and the consumer docs/partners.md shows applies each event once.
Broker users are cluster-wide: each test's partners get names of their own, and the settings
fixture deletes their users afterwards, whatever the outcome."""

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import aio_pika
import aiormq
import asyncpg
import httpx
import pytest
from sqlalchemy import event

from crm_notifier.db.broker_admin import BrokerAdmin
from crm_notifier.domain import partner_bus
from crm_notifier.domain.partner_bus_commands import ProvisionPartnerQueue
from crm_notifier.settings import Settings
from crm_platform.context import ServiceContext
from crm_platform.errors import InvalidInput, Unavailable
from crm_platform.events import CloudEvent
from crm_platform.identity import Identity
from crm_platform.testing import (
    bearer,
    check_internal_token_guard,
    event_publisher,
    fetch,
    queue_depth,
    wait_until,
)

from .conftest import INTERNAL_TOKEN_SECRET

ADMIN = bearer(INTERNAL_TOKEN_SECRET, "admin", subject="u-admin")


@pytest.fixture
async def management(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the management API, as the notifier's administrator."""
    async with httpx.AsyncClient(
        base_url=settings.rabbitmq_management_url,
        auth=(settings.rabbitmq_management_user, settings.rabbitmq_management_password),
        timeout=10,
    ) as client:
        yield client


@pytest.fixture
def new_partner() -> Callable[[], str]:
    """``new_partner()`` → a partner slug of this test's own (the settings fixture deletes the
    broker users of the run's vhost after the test, whatever its outcome)."""
    return lambda: f"t-{uuid.uuid4().hex[:12]}"


def _event(routing_key: str) -> CloudEvent:
    return CloudEvent.new(
        service="tests", routing_key=routing_key, subject=str(uuid.uuid4()), data={"n": 1}
    )


def _partner_url(settings: Settings, username: str, password: str) -> str:
    vhost = quote(settings.rabbitmq_vhost, safe="")
    return f"amqp://{quote(username, safe='')}:{quote(password, safe='')}@127.0.0.1:5672/{vhost}"


async def _drain(queue: aio_pika.abc.AbstractQueue, *, idle: float = 1.0) -> list[CloudEvent]:
    """Consume until nothing arrives for ``idle`` seconds; ack each message."""
    received: list[CloudEvent] = []
    async with queue.iterator() as messages:
        while True:
            try:
                message = await asyncio.wait_for(anext(messages), idle)
            except TimeoutError:
                return received
            async with message.process():
                received.append(CloudEvent.from_bytes(message.body))


async def _refused(connection: aio_pika.abc.AbstractConnection, attempt) -> str:
    """Run ``attempt(channel)`` on a new channel; the broker must close the channel with
    ACCESS_REFUSED. Returns the broker's reason."""
    channel = await connection.channel(publisher_confirms=True)
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused) as refused:
        await attempt(channel)
    assert "ACCESS_REFUSED" in str(refused.value)  # reply code 403: this exception's class
    return str(refused.value)


async def _provision(client: httpx.AsyncClient, partner: str, *patterns: str) -> dict:
    response = await client.post(
        "/v1/partner-queues",
        json={"partner": partner, "display_name": "Acme", "patterns": list(patterns)},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_partner_consumes_exactly_its_events_and_the_broker_refuses_it_the_rest(
    client: httpx.AsyncClient, settings: Settings, management: httpx.AsyncClient, new_partner
) -> None:
    partner = new_partner()
    answer = await _provision(client, partner, "ticket.*", "customer.created")
    assert answer["queue"] == f"partner.{partner}"
    assert answer["username"] == f"partner-{partner}"
    assert answer["vhost"] == settings.rabbitmq_vhost
    assert answer["patterns"] == ["ticket.*", "customer.created"]
    assert len(answer["password"]) >= 40
    assert answer["amqp_url_hint"].endswith(
        f"://partner-{partner}:<password>@127.0.0.1:5672/{quote(settings.rabbitmq_vhost, safe='')}"
    )
    queue_name, username, password = answer["queue"], answer["username"], answer["password"]

    # The broker holds what was asked: a durable quorum queue, its bindings, a tagless user
    # that may only read its queue. The password is nowhere in the database.
    vhost = quote(settings.rabbitmq_vhost, safe="")
    queue = (await management.get(f"/api/queues/{vhost}/{quote(queue_name)}")).json()
    assert queue["durable"] is True
    assert queue["arguments"]["x-queue-type"] == "quorum"
    bindings = await management.get(
        f"/api/bindings/{vhost}/e/{quote(settings.events_exchange)}/q/{queue_name}"
    )
    assert sorted(b["routing_key"] for b in bindings.json()) == [
        "customer.created",
        "ticket.*",
    ]
    user = (await management.get(f"/api/users/{username}")).json()
    assert user["tags"] in ([], "")
    permissions = (await management.get(f"/api/permissions/{vhost}/{username}")).json()
    assert (permissions["configure"], permissions["write"], permissions["read"]) == (
        "^$",
        "^$",
        f"^{re.escape(queue_name)}$",
    )
    # A user with no tags may not use the management API.
    assert (await management.get("/api/whoami", auth=(username, password))).status_code == 401
    rows = await fetch(settings.database_url, "SELECT * FROM partner_bus_subscription")
    assert [r["partner"] for r in rows] == [partner]
    assert password not in str([dict(r) for r in rows])

    listed = await client.get("/v1/partner-queues", headers=ADMIN)
    assert [(s["partner"], s["status"]) for s in listed.json()] == [(partner, "active")]
    assert "password" not in listed.json()[0]

    # The services publish; the partner receives the matching events only.
    published = {key: _event(key) for key in ("ticket.closed", "customer.created")}
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        await publish(published["ticket.closed"])
        await publish(_event("opportunity.won"))
        await publish(published["customer.created"])

    connection = await aio_pika.connect(_partner_url(settings, username, password))
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=10)
        own = await channel.get_queue(queue_name, ensure=False)
        received = await _drain(own)
        assert sorted((e.type, e.id) for e in received) == sorted(
            (e.type, e.id) for e in published.values()
        )

        # What the broker refuses the partner, each closing the channel with ACCESS_REFUSED.
        async def consume_another_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            other = await channel.get_queue("notifier.events", ensure=False)
            await other.consume(_ignore)

        reason = await _refused(connection, consume_another_queue)
        assert "access to queue 'notifier.events'" in reason

        async def get_from_another_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            unrouted = settings.events_exchange + ".unrouted"  # every unbound event is here
            other = await channel.get_queue(unrouted, ensure=False)
            await other.get(fail=False)

        await _refused(connection, get_from_another_queue)

        async def declare_its_own_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.declare_queue(
                queue_name, durable=True, arguments={"x-queue-type": "quorum"}
            )

        await _refused(connection, declare_its_own_queue)

        async def declare_a_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.declare_queue(exclusive=True)  # a server-named one, amq.gen-…

        await _refused(connection, declare_a_queue)

        async def publish_to_the_events_exchange(channel: aio_pika.abc.AbstractChannel) -> None:
            exchange = await channel.get_exchange(settings.events_exchange, ensure=False)
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="ticket.closed")

        reason = await _refused(connection, publish_to_the_events_exchange)
        assert f"access to exchange '{settings.events_exchange}'" in reason

        async def publish_to_its_own_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), routing_key=queue_name)

        reason = await _refused(connection, publish_to_its_own_queue)
        assert "access to exchange 'amq.default'" in reason

        async def unbind_its_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            mine = await channel.get_queue(queue_name, ensure=False)
            await mine.unbind(settings.events_exchange, "ticket.*")

        await _refused(connection, unbind_its_queue)

        async def delete_its_queue(channel: aio_pika.abc.AbstractChannel) -> None:
            await channel.queue_delete(queue_name)

        await _refused(connection, delete_its_queue)

        # A passive declare is checked against no permission at all (RabbitMQ): it says
        # whether a queue exists and how many messages it holds, its own or another's.
        channel = await connection.channel()
        assert (await channel.declare_queue(queue_name, passive=True)).name == queue_name

        # Revoking deletes the user and closes its open connection; with delete_queue, the
        # queue goes too.
        revoked = await client.delete(
            f"/v1/partner-queues/{partner}", params={"delete_queue": "true"}, headers=ADMIN
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        assert revoked.json()["revoked_by"] == "u-admin"
        assert revoked.json()["queue_deleted"] is True

        async def no_partner_connection() -> bool:
            listed = (await management.get("/api/connections")).json()
            return all(c["user"] != username for c in listed)

        await wait_until(no_partner_connection, timeout=10, message="its connection closed")
        with pytest.raises((aiormq.exceptions.ConnectionClosed, RuntimeError), match="closed"):
            await connection.channel()  # the client saw it too

    with pytest.raises(aio_pika.exceptions.ProbableAuthenticationError):
        await aio_pika.connect(_partner_url(settings, username, password))
    assert (await management.get(f"/api/queues/{vhost}/{queue_name}")).status_code == 404
    assert (await management.get(f"/api/users/{username}")).status_code == 404
    listed = await client.get("/v1/partner-queues", headers=ADMIN)
    assert [(s["partner"], s["status"]) for s in listed.json()] == [(partner, "revoked")]
    assert (await client.delete(f"/v1/partner-queues/{partner}", headers=ADMIN)).status_code == 404


async def _ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    pass


async def test_a_kept_queue_keeps_its_events_and_provisioning_again_rebinds_it(
    client: httpx.AsyncClient, settings: Settings, new_partner
) -> None:
    partner = new_partner()
    first = await _provision(client, partner, "customer.#")
    again = await client.post(
        "/v1/partner-queues",
        json={"partner": partner, "patterns": ["ticket.*"]},
        headers=ADMIN,
    )
    assert again.status_code == 409, again.text
    assert again.json()["type"] == "urn:crm:problem:partner-queue-exists"

    kept = await client.delete(f"/v1/partner-queues/{partner}", headers=ADMIN)
    assert kept.json()["queue_deleted"] is False
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        waiting = _event("customer.updated")
        await publish(waiting)  # no user, but the queue is bound: it waits there
        await publish(_event("ticket.closed"))

    second = await _provision(client, partner, "ticket.*")  # a new user, new password
    assert second["password"] != first["password"]
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        after = _event("ticket.closed")
        await publish(after)
        await publish(_event("customer.updated"))  # no longer bound
    connection = await aio_pika.connect(
        _partner_url(settings, second["username"], second["password"])
    )
    async with connection:
        channel = await connection.channel()
        received = await _drain(await channel.get_queue(second["queue"], ensure=False))
    assert [e.id for e in received] == [waiting.id, after.id]

    # With no active subscription, delete_queue still removes the queue a revocation kept.
    await client.delete(f"/v1/partner-queues/{partner}", headers=ADMIN)
    deleted = await client.delete(
        f"/v1/partner-queues/{partner}", params={"delete_queue": "true"}, headers=ADMIN
    )
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["queue_deleted"] is True
    listed = await client.get("/v1/partner-queues", headers=ADMIN, params={"status": "revoked"})
    assert [s["partner"] for s in listed.json()] == [partner, partner]


async def test_only_admins_manage_partner_queues_and_bad_patterns_are_refused(
    client: httpx.AsyncClient, new_partner
) -> None:
    partner = new_partner()
    body = {"partner": partner, "patterns": ["ticket.*"]}
    for role in ("sales_manager", "service_supervisor", "viewer"):
        headers = bearer(INTERNAL_TOKEN_SECRET, role)
        for method, path, kwargs in (
            ("GET", "/v1/partner-queues", {}),
            ("POST", "/v1/partner-queues", {"json": body}),
            ("DELETE", f"/v1/partner-queues/{partner}", {}),
        ):
            response = await client.request(method, path, headers=headers, **kwargs)
            assert response.status_code == 403, (role, method, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    await check_internal_token_guard(
        client,
        INTERNAL_TOKEN_SECRET,
        (("GET", "/v1/partner-queues"), ("DELETE", f"/v1/partner-queues/{partner}")),
    )

    for patterns in (["ticket*"], ["Ticket.closed"], ["ticket..closed"], ["a b"], []):
        refused = await client.post(
            "/v1/partner-queues", json={"partner": partner, "patterns": patterns}, headers=ADMIN
        )
        assert refused.status_code == 422, (patterns, refused.text)
    too_many = [f"type{i}.created" for i in range(21)]
    refused = await client.post(
        "/v1/partner-queues", json={"partner": partner, "patterns": too_many}, headers=ADMIN
    )
    assert refused.status_code == 422
    refused = await client.post(
        "/v1/partner-queues", json={"partner": "Acme Ltd", "patterns": ["#"]}, headers=ADMIN
    )
    assert refused.status_code == 422
    assert (await client.get("/v1/partner-queues", headers=ADMIN)).json() == []


@pytest.mark.parametrize(
    ("patterns", "accepted"),
    [
        (["ticket.*", "customer.#", "customer.created"], True),
        (["#"], True),
        (["*.created", "change_request.approved"], True),
        (["ticket.*", "ticket.*"], True),  # repeats collapse
        (["ticket*"], False),  # a wildcard is a whole word
        (["ticket.#x"], False),
        (["Ticket.closed"], False),
        ([".ticket"], False),
        (["ticket."], False),
        (["ticket closed"], False),
        ([], False),
        ([f"t{i}" for i in range(21)], False),
    ],
)
def test_patterns(patterns: list[str], accepted: bool) -> None:
    if accepted:
        assert partner_bus.check_patterns(patterns) == tuple(dict.fromkeys(patterns))
    else:
        with pytest.raises(InvalidInput):
            partner_bus.check_patterns(patterns)


# ------------------------------------------------------- the broker side undone on failure


def _admin_context(settings: Settings) -> ServiceContext[Settings]:
    return ServiceContext(
        identity=Identity(subject="u-admin", roles=frozenset({"admin"})), settings=settings
    )


async def _broker_state(settings: Settings, partner: str) -> tuple[bool, bool]:
    async with partner_bus.open_broker(settings) as admin:
        return (
            await admin.user_exists(partner_bus.username_of(partner)),
            await admin.queue_exists(partner_bus.queue_name(partner)),
        )


async def test_a_rolled_back_provisioning_is_undone_on_the_broker(
    client: httpx.AsyncClient, settings: Settings, new_partner
) -> None:
    """The transaction fails after the broker was changed (a failing commit, say): the user
    and the queue the provisioning created are deleted."""
    partner = new_partner()
    runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    command = ProvisionPartnerQueue(partner=partner, display_name="", patterns=("ticket.*",))

    def commit_fails(session: object) -> None:
        raise RuntimeError("the commit failed")

    with pytest.raises(RuntimeError, match="the commit failed"):
        async with runtime.sessionmaker() as session, session.begin():
            event.listen(session.sync_session, "before_commit", commit_fails)
            await partner_bus.provision(session, _admin_context(settings), command)
            assert await _broker_state(settings, partner) == (True, True)

    async def undone() -> bool:
        return await _broker_state(settings, partner) == (False, False)

    await wait_until(undone, timeout=10, message="the provisioning undone on the broker")
    assert (await client.get("/v1/partner-queues", headers=ADMIN)).json() == []


async def test_a_broker_step_that_fails_undoes_the_steps_before_it(
    client: httpx.AsyncClient, settings: Settings, new_partner
) -> None:
    partner = new_partner()

    class PermissionsFail(BrokerAdmin):
        async def set_permissions(self, username, permissions) -> None:
            raise Unavailable("the management API went away")

    @contextlib.asynccontextmanager
    async def failing(settings: Settings) -> AsyncIterator[BrokerAdmin]:
        async with partner_bus.open_broker(settings) as admin:
            yield PermissionsFail(admin._client, admin.vhost)

    runtime = client._transport.app.state.runtime  # type: ignore[attr-defined]
    command = ProvisionPartnerQueue(partner=partner, display_name="", patterns=("ticket.*",))
    with pytest.raises(Unavailable):
        async with runtime.sessionmaker() as session, session.begin():
            await partner_bus.provision(session, _admin_context(settings), command, broker=failing)
    assert await _broker_state(settings, partner) == (False, False)
    assert (await client.get("/v1/partner-queues", headers=ADMIN)).json() == []


async def test_an_unreachable_management_api_is_503(
    client: httpx.AsyncClient, settings: Settings, new_partner
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.settings = settings.model_copy(
        update={"rabbitmq_management_url": "http://127.0.0.1:9"}
    )
    try:
        response = await client.post(
            "/v1/partner-queues",
            json={"partner": new_partner(), "patterns": ["ticket.*"]},
            headers=ADMIN,
        )
    finally:
        app.state.settings = settings
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "urn:crm:problem:broker-management-unavailable"
    assert (await client.get("/v1/partner-queues", headers=ADMIN)).json() == []


# ----------------------------------------------------- the consumer docs/partners.md shows

DOCS = Path(__file__).resolve().parents[3] / "docs" / "partners.md"


def _documented_consumer() -> ModuleType:
    """The Python program of docs/partners.md, as a module."""
    text = DOCS.read_text()
    section = text[text.index("## A consumer in Python") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("\n```", start)]
    module = ModuleType("partner_consumer")
    exec(compile(code, str(DOCS), "exec"), module.__dict__)
    return module


async def test_the_documented_consumer_applies_each_event_once(
    client: httpx.AsyncClient, settings: Settings, database_factory, new_partner
) -> None:
    answer = await _provision(client, new_partner(), "ticket.*")
    consumer = _documented_consumer()
    applied: list[str] = []
    apply_event = consumer.apply_event

    async def counting(connection, event) -> None:
        applied.append(event["id"])
        await apply_event(connection, event)

    consumer.apply_event = counting
    ticket = str(uuid.uuid4())
    created = CloudEvent.new(
        service="service-desk", routing_key="ticket.created", subject=ticket, data={}
    )
    closed = CloudEvent.new(
        service="service-desk", routing_key="ticket.closed", subject=ticket, data={}
    )
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        await publish(created)
        await publish(closed)
        await publish(closed)  # delivered twice, as after a publisher's crash
        await publish(_event("ticket.updated"), body=b"not json")
        await publish(_event("customer.created"))  # not bound

    url = await database_factory("partner_consumer")
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    partner_url = _partner_url(settings, answer["username"], answer["password"])
    task = asyncio.create_task(consumer.run(partner_url, answer["queue"], dsn))
    try:

        async def done() -> bool:
            try:
                rows = await fetch(url, "SELECT count(*) AS n FROM crm_rejected_event")
            except asyncpg.UndefinedTableError:  # the consumer has not started yet
                return False
            return rows[0]["n"] == 1

        await wait_until(done, timeout=15, message="the consumer's work")
        await asyncio.sleep(0.3)  # the last acknowledgement
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    assert applied == [str(created.id), str(closed.id)]
    processed = await fetch(url, "SELECT id, type FROM crm_processed_event ORDER BY type")
    assert [(str(r["id"]), r["type"]) for r in processed] == [
        (str(closed.id), "crm.ticket.closed"),
        (str(created.id), "crm.ticket.created"),
    ]
    tickets = await fetch(url, "SELECT id, last_event FROM crm_ticket")
    assert [(str(r["id"]), r["last_event"]) for r in tickets] == [(ticket, "crm.ticket.closed")]
    assert await queue_depth(settings.amqp_url, answer["queue"]) == 0  # every one acknowledged
