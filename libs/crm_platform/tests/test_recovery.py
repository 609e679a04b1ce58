"""Publishing and consuming resume after the broker drops connections or restarts."""

import asyncio
import subprocess
import time
import uuid

from crm_platform.testing import rabbitmqctl, wait_until

from .conftest import record_effect


def _vhost_of(amqp_url: str) -> str:
    from urllib.parse import unquote

    return unquote(amqp_url.rsplit("/", 1)[1])


async def test_resumes_after_connections_are_closed(bus) -> None:
    await bus.start_consumer(
        f"probe-{uuid.uuid4().hex[:8]}", {"thing.happened": record_effect("h")}
    )
    bus.start_relay()
    before = [await bus.stage("thing.happened", f"b{n}") for n in range(20)]
    await wait_until(lambda: _at_least(bus, 20), message="events before the cut")

    await asyncio.to_thread(
        rabbitmqctl, "close_all_connections", "-p", _vhost_of(bus.amqp_url), "test: cut"
    )
    after = [await bus.stage("thing.happened", f"a{n}") for n in range(20)]
    await wait_until(lambda: _at_least(bus, 40), timeout=30, message="events after the cut")
    handled = {row.event_id for row in await bus.effects()}
    assert handled == {e.id for e in before + after}
    assert all(row.published_at for row in await bus.outbox())


async def test_resumes_after_a_broker_restart(bus) -> None:
    await bus.start_consumer(
        f"probe-{uuid.uuid4().hex[:8]}", {"thing.happened": record_effect("h")}
    )
    bus.start_relay()
    before = [await bus.stage("thing.happened", f"b{n}") for n in range(10)]
    await wait_until(lambda: _at_least(bus, 10), message="events before the restart")

    await asyncio.to_thread(rabbitmqctl, "stop_app")
    try:
        # Written while the broker is down: they wait in the outbox.
        during = [await bus.stage("thing.happened", f"d{n}") for n in range(10)]
        await asyncio.sleep(1.0)
    finally:
        await asyncio.to_thread(rabbitmqctl, "start_app")
        await asyncio.to_thread(_await_broker)
    after = [await bus.stage("thing.happened", f"a{n}") for n in range(10)]
    await wait_until(
        lambda: _at_least(bus, 30), timeout=60, message="every event after the restart"
    )
    handled = [row.event_id for row in await bus.effects()]
    assert sorted(handled, key=str) == sorted((e.id for e in before + during + after), key=str)


async def _at_least(bus, count: int) -> bool:
    return len(await bus.effects()) >= count


def _await_broker() -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if subprocess.run(["rabbitmqctl", "await_startup"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("RabbitMQ did not come back")
