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

# session.info keys: rows staged and not yet written; the staged count at each savepoint's
# start; whether the transaction wrote rows, so that its commit wakes the relay.
_STAGED = "crm_outbox_staged"
_SAVEPOINT_MARKS = "crm_outbox_savepoint_marks"
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

    The row is written when the transaction commits, with every other row staged in it, in
    one INSERT: an ORM object and a flush per event cost more than the rest of a small use
    case. A savepoint rolled back drops what was staged in it (and in savepoints within it).
    Rows staged are not visible to queries in the same transaction before it commits.
    """
    row = _outbox_row(event_, correlation_id_var.get(), utcnow())
    session.info.setdefault(_STAGED, []).append(row)
    return event_


async def add_events(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """``add_event`` for many at once (bulk imports): one multi-row INSERT, same transaction."""
    if not events:
        return
    correlation_id, now = correlation_id_var.get(), utcnow()
    await session.execute(_INSERT, [_outbox_row(e, correlation_id, now) for e in events])
    session.info[_PENDING_FLAG] = True


@event.listens_for(Session, "before_commit")
def _write_staged_rows(session: Session) -> None:
    """At the outermost commit only: what a released savepoint staged belongs to its parent,
    and stays staged so that a rollback of an enclosing savepoint can still drop it."""
    if session.in_nested_transaction():
        return
    rows = session.info.pop(_STAGED, None)
    if rows:
        session.execute(_INSERT, rows[0] if len(rows) == 1 else rows)
        session.info[_PENDING_FLAG] = True


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINT_MARKS, {})
        marks[transaction] = len(session.info.get(_STAGED, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_rows(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back savepoint drops what was staged in it; a rolled-back transaction, all."""
    if previous_transaction.nested:
        mark = session.info.get(_SAVEPOINT_MARKS, {}).get(previous_transaction)
        if mark is not None and _STAGED in session.info:
            del session.info[_STAGED][mark:]
    else:
        for key in (_STAGED, _SAVEPOINT_MARKS, _PENDING_FLAG):
            session.info.pop(key, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_savepoints(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SAVEPOINT_MARKS, None)


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
