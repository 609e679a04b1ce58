"""Publishing and consuming resume after the broker drops connections or restarts, and
after the database goes away for longer than the retry schedule."""

import asyncio
import uuid
from collections import Counter

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events import CloudEvent
from crm_platform.events.parking import list_parked
from crm_platform.metrics import REGISTRY
from crm_platform.testing import rabbitmqctl, wait_until
from crm_platform.testing_faults import TcpProxy, broker_app_stopped, through_proxy

from .conftest import record_effect


def _vhost_of(amqp_url: str) -> str:
    from urllib.parse import unquote

    return unquote(amqp_url.rsplit("/", 1)[1])


async def test_resumes_after_connections_are_closed(bus) -> None:
    """The cut lands while deliveries are unacked (a slow handler) and publishes are
    unconfirmed (commits streaming): every event is applied exactly once."""
    applied = record_effect("h")

    async def slow(session, event) -> None:
        await asyncio.sleep(0.02)
        await applied(session, event)

    await bus.start_consumer(f"probe-{uuid.uuid4().hex[:8]}", {"thing.happened": slow})
    bus.start_relay()

    async def stream(prefix: str, count: int) -> list[CloudEvent]:
        return [await bus.stage("thing.happened", f"{prefix}{n}") for n in range(count)]

    writing = asyncio.create_task(stream("s", 150))
    await wait_until(lambda: _at_least(bus, 20), message="events flowing before the cut")
    await asyncio.to_thread(
        rabbitmqctl, "close_all_connections", "-p", _vhost_of(bus.amqp_url), "test: cut"
    )
    staged = await writing
    await wait_until(lambda: _at_least(bus, 150), timeout=60, message="every event")
    await asyncio.sleep(1.5)  # past the grace: a second application would show by now
    copies = Counter(row.event_id for row in await bus.effects())
    assert set(copies) == {e.id for e in staged}
    assert max(copies.values()) == 1
    assert all(row.published_at for row in await bus.outbox())


async def test_resumes_after_a_broker_restart(bus) -> None:
    await bus.start_consumer(
        f"probe-{uuid.uuid4().hex[:8]}", {"thing.happened": record_effect("h")}
    )
    bus.start_relay()
    before = [await bus.stage("thing.happened", f"b{n}") for n in range(10)]
    await wait_until(lambda: _at_least(bus, 10), message="events before the restart")

    async with broker_app_stopped():
        # Written while the broker is down: they wait in the outbox.
        during = [await bus.stage("thing.happened", f"d{n}") for n in range(10)]
        await asyncio.sleep(1.0)
    after = [await bus.stage("thing.happened", f"a{n}") for n in range(10)]
    await wait_until(
        lambda: _at_least(bus, 30), timeout=60, message="every event after the restart"
    )
    handled = [row.event_id for row in await bus.effects()]
    assert sorted(handled, key=str) == sorted((e.id for e in before + during + after), key=str)


async def _at_least(bus, count: int) -> bool:
    return len(await bus.effects()) >= count


async def test_a_database_outage_longer_than_the_retry_schedule_parks_nothing(bus) -> None:
    """The consumer's database goes away for several times its whole retry schedule
    (0.45 s): the events wait, spend no attempt, and are applied once, in order of arrival,
    when it is back."""
    proxy = await TcpProxy("127.0.0.1:5432").start()
    engine = create_engine(through_proxy(str(bus.engine.url.render_as_string(False)), proxy))
    service = f"probe-{uuid.uuid4().hex[:8]}"
    paused_errors = REGISTRY.get_sample_value("crm_consumer_infrastructure_errors_total") or 0
    try:
        bus.sessionmaker = create_sessionmaker(engine)  # the consumer's sessions, via proxy
        consumer = await bus.start_consumer(
            service, {"thing.happened": record_effect("h")}, retry_delays_ms=[150, 300]
        )
        proxy.cut()
        events = [
            CloudEvent.new(service="probe", routing_key="thing.happened", subject=str(n), data={})
            for n in range(10)
        ]
        await bus.publish(events)
        await asyncio.sleep(3.0)
        assert consumer.state.startswith("paused")
        assert (
            REGISTRY.get_sample_value("crm_consumer_infrastructure_errors_total") or 0
        ) > paused_errors
        proxy.restore()
        await wait_until(lambda: _at_least(bus, 10), timeout=40, message="events after it")
        await asyncio.sleep(0.5)
        copies = Counter(row.event_id for row in await bus.effects())
        assert set(copies) == {e.id for e in events}
        assert max(copies.values()) == 1
        assert await list_parked(bus.amqp_url, service) == []
        assert consumer.state == "ok"
    finally:
        await proxy.close()
        await engine.dispose()
