"""The inbox: event ids a consumer has applied, written in the handler's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Index
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import UtcDateTime, delete_in_chunks
from crm_platform.db_clock import utc_now_plus
from crm_platform.events.envelope import CloudEvent


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox_message"
    __table_args__ = (Index("ix_inbox_message_received_at", "received_at"),)

    id: uuid.UUID = Field(primary_key=True)
    type: str = Field(max_length=200)
    source: str = Field(max_length=200)
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


# Built once per dialect: this runs for every batch of consumed events.
_RECORD = {
    "postgresql": postgresql.insert(InboxMessage)
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(InboxMessage.id),
    "sqlite": sqlite.insert(InboxMessage)
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(InboxMessage.id),
}


async def record_in_inbox(session: AsyncSession, events: Sequence[CloudEvent]) -> set[uuid.UUID]:
    """Insert the ids of a batch in one statement; returns those that were not there yet.

    The statement is constant and the rows go as parameters: SQLAlchemy folds them into one
    multi-row INSERT itself ("insertmanyvalues") from a cached compilation, where
    ``.values(rows)`` compiled a new statement for every batch.
    """
    dialect = session.bind.dialect.name if session.bind else "postgresql"
    now = datetime.now(UTC)
    rows = {
        event_.id: {
            "id": event_.id,
            "type": event_.type,
            "source": event_.source,
            "received_at": now,
        }
        for event_ in events
    }
    connection = await session.connection()
    result = await connection.execute(_RECORD[dialect], list(rows.values()))
    return set(result.scalars())


async def prune_inbox(engine: AsyncEngine, retention_seconds: float) -> int:
    """Delete inbox rows received longer ago than the retention, a chunk per transaction.

    The retention must outlast any redelivery of an event already applied (a message can wait
    in a queue while its consumer is down): past it, a copy would be applied again. Replica
    upserts still refuse to go back to an older version. Returns how many were deleted.
    """
    table = InboxMessage.__table__  # type: ignore[attr-defined]
    return await delete_in_chunks(
        engine, table, table.c.received_at < utc_now_plus(-retention_seconds)
    )
