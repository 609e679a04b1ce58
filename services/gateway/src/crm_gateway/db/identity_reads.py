"""What every authenticated request reads: the user's active flag, roles and session (or the
API key and its owner), by primary key; remembered between requests while the database tells
this process of every change.

Every request used to read it from the database: at saturation that one read was the largest
single cost of a forwarded call (14% of the gateway's CPU). Now a process remembers what it
read, and forgets it the moment anything that decides it changes:

- on PostgreSQL, triggers on ``app_user``, ``user_session`` and ``api_key`` send
  ``NOTIFY crm_identity_changed, '<user id>'`` with every update or delete (migration
  ``7c1e5a9b3d20``), delivered when that transaction commits, to every gateway process
  listening (``IdentityChangeListener``); each forgets that user's entries;
- this process forgets everything after its own identity writes commit (``forget_all``),
  so the next request it serves never waits for its own notification;
- nothing is remembered while the listening connection is down (every request reads, as
  before) nor across a reconnection (everything is forgotten when listening starts again),
  nor longer than ``max_age_seconds`` whatever happens;
- a read that was under way when something was forgotten is not remembered (a generation
  counter), so a disable that commits during the read cannot leave the old state behind.

So a disabled user, an ended session or a revoked key is refused at once by the process that
made the change, and by the others as soon as PostgreSQL delivers the notification
(milliseconds). SQLite (one process on one machine) remembers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_gateway.db import repository
from crm_gateway.db.repository import KeyState, SignedInState

CHANNEL = "crm_identity_changed"
FORGET_EVERYONE = "*"
log = logging.getLogger(__name__)
T = TypeVar("T")


class IdentityReads:
    """The reads, straight from the database, in autocommit: one round trip each (a
    transaction's BEGIN and ROLLBACK made it three)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def signed_in_state(self, user_id: str, session_id: str) -> SignedInState | None:
        async with self._engine.connect() as connection:
            return await repository.signed_in_state(connection, user_id, session_id)

    async def key_state(self, prefix: str) -> KeyState | None:
        async with self._engine.connect() as connection:
            return await repository.key_state(connection, prefix)

    def forget_all(self) -> None:
        """Nothing remembered, nothing to forget."""


@dataclass(frozen=True)
class _Entry:
    value: Any
    user_id: str
    read_at: float


class RememberedIdentityReads(IdentityReads):
    """``IdentityReads`` remembered while ``listening`` (see the module's docstring)."""

    def __init__(
        self, engine: AsyncEngine, *, max_age_seconds: float = 60.0, max_entries: int = 100_000
    ) -> None:
        super().__init__(engine)
        self.max_age_seconds = max_age_seconds
        self.max_entries = max_entries
        self.listening = False
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._generation = 0

    async def signed_in_state(self, user_id: str, session_id: str) -> SignedInState | None:
        return await self._remembered(
            ("session", user_id, session_id),
            lambda: super(RememberedIdentityReads, self).signed_in_state(user_id, session_id),
            lambda state: user_id,
        )

    async def key_state(self, prefix: str) -> KeyState | None:
        return await self._remembered(
            ("key", prefix),
            lambda: super(RememberedIdentityReads, self).key_state(prefix),
            lambda state: state.owner_id,
        )

    async def _remembered(
        self,
        key: tuple[str, ...],
        read: Callable[[], Awaitable[T | None]],
        owner: Callable[[T], str],
    ) -> T | None:
        now = time.monotonic()
        entry = self._entries.get(key)
        if self.listening and entry is not None and now - entry.read_at < self.max_age_seconds:
            return entry.value  # type: ignore[no-any-return]
        generation = self._generation
        value = await read()
        if value is not None and self.listening and generation == self._generation:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = _Entry(value, owner(value), now)
        return value

    def remembers(self, user_id: str) -> bool:
        return any(entry.user_id == user_id for entry in self._entries.values())

    def forget_user(self, user_id: str) -> None:
        self._generation += 1
        for key in [k for k, entry in self._entries.items() if entry.user_id == user_id]:
            del self._entries[key]

    def forget_all(self) -> None:
        self._generation += 1
        self._entries.clear()

    def on_notification(self, payload: str) -> None:
        if payload == FORGET_EVERYONE:
            self.forget_all()
        else:
            self.forget_user(payload)


class IdentityChangeListener:
    """Listens for ``crm_identity_changed`` on a connection of its own and keeps ``reads``
    remembering only while it is listening; reconnects with back-off when the connection
    goes."""

    def __init__(self, database_url: str, reads: RememberedIdentityReads) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._reads = reads
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="identity-changes")

    async def stop(self) -> None:
        self._reads.listening = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen_forever(self) -> None:
        pause = 0.5
        while True:
            try:
                await self._listen_once()
                pause = 0.5
            except Exception as exc:  # any way of losing it: listen again; cancelling ends it
                log.warning("not listening for identity changes (%r); every request reads", exc)
            self._reads.listening = False
            self._reads.forget_all()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 10.0)

    async def _listen_once(self) -> None:
        connection: asyncpg.Connection = await asyncpg.connect(self._dsn, timeout=10)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(
                CHANNEL, lambda _c, _pid, _channel, payload: self._reads.on_notification(payload)
            )
            self._reads.forget_all()  # whatever changed while nobody listened
            self._reads.listening = True
            while not lost.is_set():
                # A dead peer without a FIN would never end the connection: ask now and then.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), timeout=15)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=5)
        finally:
            self._reads.listening = False
            with contextlib.suppress(Exception):
                await connection.close(timeout=2)
