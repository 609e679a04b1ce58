"""Code serials: numbers per scope (prefix + year) that are never handed out twice.

On PostgreSQL each scope is a SEQUENCE: ``nextval`` never waits for another transaction, so
concurrent creates do not queue behind one counter row (they used to, for a commit each,
which capped creations at one per WAL flush). A number whose create fails is lost, a gap the
spec accepts. A scope's sequence is made on first use, starting after the ``code_sequence``
row of that scope if there is one (codes taken before sequences existed, or seeded); it is
made in the transaction that first needs it, so it exists once that one commits.

On SQLite the ``code_sequence`` row is the counter; SQLite serialises writers anyway.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import URL, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.models import CodeSequence

_NEXT_VALUES = text(
    "SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :count) ORDER BY 1"
)
_EXISTS = text("SELECT to_regclass(:sequence) IS NOT NULL")
_LAST_TAKEN_IN_TABLE = text("SELECT last_serial FROM code_sequence WHERE scope = :scope")
# (database URL, sequence) pairs this process knows exist (never dropped while it runs).
_known_sequences: set[tuple[URL, str]] = set()
_MADE_BY_THIS_SESSION = "crm_sequences_made"


def sequence_name(scope: str) -> str:
    """A safe identifier for ``scope`` (readable part + hash, within PostgreSQL's 63 bytes)."""
    readable = re.sub(r"[^a-z0-9]+", "_", scope.lower()).strip("_")[:40]
    digest = hashlib.sha1(scope.encode()).hexdigest()[:8]
    return f"serial_{readable}_{digest}"


async def sequence_of(session: AsyncSession, scope: str) -> str:
    """The name of ``scope``'s sequence (PostgreSQL), made in the caller's transaction on
    first use; for a statement that takes its number itself."""
    assert session.bind is not None
    name = sequence_name(scope)
    if (session.bind.url, name) not in _known_sequences:
        await _ensure_sequence(session, scope, name)
    return name


async def take_serials(session: AsyncSession, scope: str, count: int = 1) -> list[int]:
    """``count`` new numbers of ``scope``, ascending, taken in the caller's transaction."""
    if count < 1:
        return []
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return await _take_from_table(session, scope, count)
    name = await sequence_of(session, scope)
    result = await session.execute(_NEXT_VALUES, {"sequence": name, "count": count})
    return [int(value) for value in result.scalars()]


async def _take_from_table(session: AsyncSession, scope: str, count: int) -> list[int]:
    statement = (
        sqlite.insert(CodeSequence)
        .values(scope=scope, last_serial=count)
        .on_conflict_do_update(
            index_elements=["scope"], set_={"last_serial": CodeSequence.last_serial + count}
        )
        .returning(CodeSequence.last_serial)
    )
    last = int((await session.execute(statement)).scalar_one())
    return list(range(last - count + 1, last + 1))


async def _ensure_sequence(session: AsyncSession, scope: str, name: str) -> None:
    """Create the scope's sequence in the caller's transaction, under a savepoint: a concurrent
    creator that wins the race only costs the savepoint (a second connection per request could
    starve the pool when many creates start a new scope at once)."""
    assert session.bind is not None
    if (await session.execute(_EXISTS, {"sequence": name})).scalar_one():
        # Remembered only once committed: one this session made may still roll back.
        if name not in session.info.get(_MADE_BY_THIS_SESSION, ()):
            _known_sequences.add((session.bind.url, name))
        return
    taken = (await session.execute(_LAST_TAKEN_IN_TABLE, {"scope": scope})).scalar()
    start = int(taken or 0) + 1
    try:
        async with session.begin_nested():
            await session.execute(
                text(f'CREATE SEQUENCE IF NOT EXISTS "{name}" START WITH {start}')
            )
        session.info.setdefault(_MADE_BY_THIS_SESSION, set()).add(name)
    except DBAPIError:  # created by another transaction at the same moment
        if not (await session.execute(_EXISTS, {"sequence": name})).scalar_one():
            raise
