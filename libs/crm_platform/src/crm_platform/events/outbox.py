"""The transactional outbox: an event is a row written in the same transaction as its cause.

The relay (``relay.py``) publishes committed rows; a rolled-back transaction leaves no row,
so its event can never be published.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, Text, event, insert, text
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.events.envelope import CloudEvent
from crm_platform.logging import correlation_id_var
from crm_platform.staged_writes import stage_row

# session.info key: the transaction staged events, so its commit wakes the relay.
_PENDING_FLAG = "crm_outbox_pending"


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index(
            "ix_outbox_message_pending",
            "created_at",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(primary_key=True)
    routing_key: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


_INSERT = insert(OutboxMessage.__table__)  # type: ignore[attr-defined]


def _outbox_row(event_: CloudEvent, correlation_id: str | None, now: datetime) -> dict[str, object]:
    if event_.correlationid is None:
        event_.correlationid = correlation_id
    return {
        "id": event_.id,
        "routing_key": event_.routing_key,
        "body": event_.model_dump_json(),
        "created_at": now,
        "published_at": None,
        "attempts": 0,
        "last_error": None,
    }


def add_event(session: AsyncSession, event_: CloudEvent) -> CloudEvent:
    """Stage ``event_`` in the caller's transaction; it is published only if that commits.

    The row is a staged write (``crm_platform.staged_writes``): written when the transaction
    commits, with the other rows staged in it, in one round trip; an ORM object and a flush
    per event cost more than the rest of a small use case. A savepoint that rolls back
    drops the events staged in it.
    """
    stage_row(session, _INSERT, _outbox_row(event_, correlation_id_var.get(), utcnow()))
    session.info[_PENDING_FLAG] = True
    return event_


async def add_events(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """``add_event`` for many at once (bulk imports): one multi-row INSERT, same transaction."""
    if not events:
        return
    correlation_id, now = correlation_id_var.get(), utcnow()
    await session.execute(_INSERT, [_outbox_row(e, correlation_id, now) for e in events])
    session.info[_PENDING_FLAG] = True


class OutboxSignal:
    """Wakes the relay as soon as a transaction that staged events commits."""

    def __init__(self) -> None:
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def register(self, waker: asyncio.Event) -> None:
        self._waiters.add((asyncio.get_running_loop(), waker))

    def unregister(self, waker: asyncio.Event) -> None:
        self._waiters = {(loop, w) for loop, w in self._waiters if w is not waker}

    def notify(self) -> None:
        for loop, waker in list(self._waiters):
            if loop.is_closed():
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                waker.set()
            else:
                loop.call_soon_threadsafe(waker.set)


outbox_signal = OutboxSignal()


@event.listens_for(Session, "after_commit")
def _wake_relay_after_commit(session: Session) -> None:
    if session.info.pop(_PENDING_FLAG, False):
        outbox_signal.notify()


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_events(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint leaves the flag: at worst the relay wakes for nothing.
    if not previous_transaction.nested:
        session.info.pop(_PENDING_FLAG, None)
