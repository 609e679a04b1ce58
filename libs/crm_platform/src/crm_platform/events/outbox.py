"""The transactional outbox: an event is a row written in the same transaction as its cause.

The relay (``relay.py``) publishes committed rows; a rolled-back transaction leaves no row,
so its event can never be published.

Times in this table come from the database's clock (``crm_platform.db_clock``): ``created_at``
is stamped by the commit's own statement, and every relay of the database compares it, and
``claimed_until``, with the same server's clock.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import URL, Column, Index, Text, bindparam, event, insert, text
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import UtcDateTime
from crm_platform.db_clock import utc_now
from crm_platform.events.envelope import CloudEvent
from crm_platform.logging import correlation_id_var
from crm_platform.staged_writes import stage_row, take_written_rows


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
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    published_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A sweep that takes a row claims it until then (its publish's deadline), and a row the
    # broker refused waits until then (its back-off); no relay takes it before.
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


# created_at from the database's clock, at the commit's own statement (staged rows are
# written at commit): the hand-off grace is measured from the commit, on one clock.
_INSERT = insert(OutboxMessage.__table__).values(  # type: ignore[attr-defined]
    id=bindparam("id"),
    routing_key=bindparam("routing_key"),
    body=bindparam("body"),
    created_at=utc_now(),
    attempts=0,
)


def _outbox_row(event_: CloudEvent, correlation_id: str | None) -> dict[str, object]:
    if event_.correlationid is None:
        event_.correlationid = correlation_id
    return {"id": event_.id, "routing_key": event_.routing_key, "body": event_.model_dump_json()}


def add_event(session: AsyncSession, event_: CloudEvent) -> CloudEvent:
    """Stage ``event_`` in the caller's transaction; it is published only if that commits.

    The row is a staged write (``crm_platform.staged_writes``): written when the transaction
    commits, with the other rows staged in it, in one round trip; an ORM object and a flush
    per event cost more than the rest of a small use case. A savepoint that rolls back
    drops the events staged in it.
    """
    stage_row(session, _INSERT, _outbox_row(event_, correlation_id_var.get()))
    return event_


def add_events(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """``add_event`` for many at once (bulk imports): written together at commit."""
    correlation_id = correlation_id_var.get()
    for event_ in events:
        stage_row(session, _INSERT, _outbox_row(event_, correlation_id))


def add_serialized_events(
    session: AsyncSession, events: Sequence[tuple[uuid.UUID, str, str]]
) -> None:
    """``add_events`` for events a bulk producer serialized itself, as (event id, routing
    key, CloudEvent JSON body): a scheduler firing a hundred thousand reminders at once
    builds each body from one envelope instead of a model per event."""
    for event_id, routing_key, body in events:
        stage_row(session, _INSERT, {"id": event_id, "routing_key": routing_key, "body": body})


class OutboxRelayEndpoint(Protocol):
    """What the hand-off needs of a relay (``relay.OutboxRelay``)."""

    @property
    def database(self) -> URL: ...

    def take(self, rows: list[Mapping[str, Any]], committed_at: float) -> None: ...


class OutboxHandOff:
    """Gives the rows a commit just wrote to this process's relay of the same database.

    The relay then publishes them at once, without reading them back; its sweep only
    collects rows no relay was handed (another process's, or a crash's). One relay per
    database takes them: a second one (tests) would publish them twice.
    """

    def __init__(self) -> None:
        self._relays: list[tuple[asyncio.AbstractEventLoop, OutboxRelayEndpoint]] = []

    def register(self, relay: OutboxRelayEndpoint) -> None:
        self._relays.append((asyncio.get_running_loop(), relay))

    def unregister(self, relay: OutboxRelayEndpoint) -> None:
        self._relays = [(loop, r) for loop, r in self._relays if r is not relay]

    def hand_off(self, database: URL, rows: list[Mapping[str, Any]]) -> None:
        committed_at = time.monotonic()
        for loop, relay in list(self._relays):
            if loop.is_closed() or relay.database != database:
                continue
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                relay.take(rows, committed_at)
            else:
                loop.call_soon_threadsafe(relay.take, rows, committed_at)
            return


outbox_hand_off = OutboxHandOff()


@event.listens_for(Session, "after_commit")
def _hand_committed_rows_to_the_relay(session: Session) -> None:
    rows = take_written_rows(session, _INSERT)
    if rows:
        outbox_hand_off.hand_off(session.get_bind().url, rows)
