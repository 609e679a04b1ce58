"""The outbox relay on an event loop of its own, in a thread of the service process.

In the API's event loop the relay competed with every request in flight: aiormq settles one
incoming frame per loop turn, so a batch of 200 publisher confirms took 1 to 2.6 s to arrive
while some thirty requests were in flight, against 60 ms on an idle loop, and events waited in
the outbox for seconds. On its own loop a turn is short. The relay has its own database pool
and broker connection (both belong to one loop); commits in the API's loop still wake it at
once through ``outbox_signal``, which is thread-aware.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from datetime import timedelta

from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.events.broker import EventPublisher
from crm_platform.events.relay import OutboxRelay
from crm_platform.settings import PlatformSettings

log = logging.getLogger(__name__)

RELAY_POOL_SIZE = 2
# How long a busy API thread may keep the GIL while the relay waits for it. Python's default,
# 5 ms, is paid at nearly every await of a relay pass (each answer from the database or the
# broker), which put about 50 ms between a commit and its publish under load; 1 ms gives
# 10 ms, and the API thread only yields when the relay actually has work.
SWITCH_INTERVAL_SECONDS = 0.001


class RelayThread:
    def __init__(self, settings: PlatformSettings) -> None:
        self._settings = settings
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))
        self._thread = threading.Thread(target=self._main, name="outbox-relay", daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)

    def _main(self) -> None:
        try:
            import uvloop  # the services' loop; plain asyncio works the same, only slower

            uvloop.run(self._run())
        except ImportError:
            asyncio.run(self._run())
        except Exception:
            log.exception("the outbox relay thread ended")

    async def _run(self) -> None:
        s = self._settings
        engine = create_engine(
            s.database_url,
            pool_size=RELAY_POOL_SIZE,
            session_settings=s.database_session_settings(),
        )
        publisher = EventPublisher(s.amqp_url, s.events_exchange, role="relay")
        relay = OutboxRelay(
            create_sessionmaker(engine),
            publisher,
            batch_size=s.outbox_batch_size,
            sweep_seconds=s.outbox_sweep_seconds,
            retention=timedelta(hours=s.outbox_retention_hours),
            batch_window_seconds=s.outbox_batch_window_ms / 1000,
        )
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._started.set()
        try:
            await relay.run()
        except asyncio.CancelledError:
            pass
        finally:
            with contextlib.suppress(Exception):
                await publisher.close()
            with contextlib.suppress(Exception):
                await engine.dispose()

    def stop(self, timeout: float) -> None:
        """Cancel the relay and wait (bounded) for it to close its connections."""
        loop, task, thread = self._loop, self._task, self._thread
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("the outbox relay did not stop within %ss; abandoning it", timeout)
