"""Async engine and sessions for PostgreSQL (production) and SQLite (embedded default)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, MetaData, Table, TypeDecorator, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.staged_writes import stage_row


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time: stored in UTC, always read back as an aware UTC datetime.

    Every datetime column of every service (and every SQL expression that yields a time, such
    as ``crm_platform.db_clock``'s) uses this type. PostgreSQL's ``timestamptz`` keeps the
    offset, but SQLite stores text without one and SQLAlchemy reads it back naive, so on SQLite
    a read answered ``2026-11-30T03:44:04.489832`` where the create of the same row had said
    ``…Z``. Values are turned to UTC before they are written (SQLite would otherwise store an
    aware Shanghai time's wall clock as if it were UTC); a naive value is taken to be UTC
    already. The column's DDL is ``DateTime(timezone=True)``'s, so migrations see no change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed during a write; busy_timeout queues writers instead of failing.
    # We issue BEGIN ourselves (see _begin_immediate), so the driver must not.
    # The busy timeout first: switching the file to WAL takes a lock, and a connection the
    # process opened a moment before (the relay's, the consumer's) may hold one — without the
    # timeout that answered "database is locked" at startup under load. WAL is a property of
    # the file: switched once, left alone after.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode")
    mode = cursor.fetchone()
    if not mode or str(mode[0]).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads, then writes, fails with SQLITE_BUSY when another
    # writer committed in between; taking the write lock up front queues it instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(
    url: str, *, pool_size: int = 10, session_settings: dict[str, str] | None = None
) -> AsyncEngine:
    """``session_settings``: PostgreSQL settings every connection starts with (sent at
    connect, so a query that depends on one never needs a SET round trip of its own)."""
    url = normalize_database_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    # No pool_pre_ping: with asyncpg it costs three round trips per checkout; a connection
    # the server dropped fails its statement, is discarded by the pool, and the unit of work
    # (a request, or a consumed event that is then retried) fails cleanly instead.
    return create_async_engine(
        url,
        pool_size=pool_size,
        # No overflow: connections opened for a burst were closed after it, and each new one
        # costs a backend start and cold statement caches, which a busy burst can least afford.
        max_overflow=0,
        pool_recycle=1800,
        connect_args={"server_settings": dict(session_settings or {})},
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with sessionmaker() as session, session.begin():
        yield session


def platform_tables(*models: type) -> MetaData:
    """Copies of the platform tables a service uses, for its migrations' target metadata.

    The platform's tables all live on ``SQLModel.metadata``; a process that imports several
    services (tests) would otherwise hand each service every platform table.
    """
    metadata = MetaData()
    for model in models:
        model.__table__.to_metadata(metadata)  # type: ignore[attr-defined]
    return metadata


def dialect_of(session: AsyncSession) -> str:
    """The session's database dialect: ``postgresql`` (also for an unbound session) or
    ``sqlite``."""
    return session.bind.dialect.name if session.bind is not None else "postgresql"


def conflict_insert(session: AsyncSession, table: Any) -> Any:
    """``INSERT INTO table`` in the session's dialect, the kind that takes
    ``on_conflict_do_nothing``/``on_conflict_do_update`` (PostgreSQL's and SQLite's)."""
    return (postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert)(table)


_UPSERTS: dict[tuple[str, Table, tuple[str, ...], str, str], Any] = {}


def _upsert_statement(
    dialect: str, table: Table, columns: tuple[str, ...], key: str, version: str
) -> Any:
    """Built once per shape: building it per event cost more CPU than running it."""
    shape = (dialect, table, columns, key, version)  # the Table itself: names can repeat
    if shape not in _UPSERTS:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table)
        _UPSERTS[shape] = statement.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={name: statement.excluded[name] for name in columns if name != key},
            where=table.c[version] < statement.excluded[version],
        )
    return _UPSERTS[shape]


def stage_upsert_if_newer(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    *,
    key: str = "id",
    version: str = "source_version",
) -> None:
    """Insert a replica row, or update it only when ``values`` carries a newer version.

    A staged write (``crm_platform.staged_writes``): the rows of one transaction go to the
    database together at commit, so a consumer batch of many events pays one round trip.
    Replicas never go back in time when events arrive out of order, nor when one batch
    carries two states of the same row (the rows run in order, each against the last).
    """
    statement = _upsert_statement(dialect_of(session), table, tuple(values), key, version)
    stage_row(session, statement, values)


async def upsert_if_newer(
    session: AsyncSession,
    table: Table,
    values: dict[str, Any],
    *,
    key: str = "id",
    version: str = "source_version",
) -> None:
    """``stage_upsert_if_newer`` written now, not at commit: for a replica the same
    transaction reads back (the notifier's handlers look up the user or contact an earlier
    event of the same consumer batch brought)."""
    statement = _upsert_statement(dialect_of(session), table, tuple(values), key, version)
    await session.execute(statement, values)


DELETE_CHUNK = 5000


async def delete_in_chunks(engine: AsyncEngine, table: Table, *conditions: Any) -> int:
    """Delete the rows of ``table`` matching ``conditions``, at most 5,000 per transaction,
    so retention never holds a lock, or a transaction, for long. Returns how many went."""
    chunk = select(table.c.id).where(*conditions).limit(DELETE_CHUNK)
    deleted = 0
    while True:
        async with engine.begin() as connection:
            result = await connection.execute(delete(table).where(table.c.id.in_(chunk)))
        deleted += result.rowcount or 0
        if (result.rowcount or 0) < DELETE_CHUNK:
            return deleted
