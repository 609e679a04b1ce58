"""Writes held until the transaction commits, then sent as one statement per kind.

A use case that writes one row of a kind (an outbox row, a replica upsert) pays a round trip
and the statement's overhead for it; a consumer batch of twenty events paid twenty. Staged
rows of the same statement are written together by one ``executemany`` (one round trip)
when the outermost transaction commits, in the order their statements were first staged.

Savepoints keep their meaning: rows staged inside a savepoint that rolls back (or inside a
savepoint nested in it, released or not) are dropped; a rolled-back transaction drops all.
Staged rows are not visible to queries of the same transaction before it commits, so only
writes nothing in the transaction reads back belong here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Executable, event
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel.ext.asyncio.session import AsyncSession

# session.info keys: the staged (statement, row) pairs in order; the count at each savepoint;
# the rows written by the commit in progress, by statement (see ``take_written_rows``).
_STAGED = "crm_staged_writes"
_SAVEPOINT_MARKS = "crm_staged_writes_savepoint_marks"
_WRITTEN = "crm_staged_writes_written"


def stage_row(
    session: AsyncSession | Session, statement: Executable, row: Mapping[str, Any]
) -> None:
    """Write ``row`` with ``statement`` when the caller's transaction commits.

    ``statement`` should be built once (module level or cached): rows group by identity.
    """
    session.info.setdefault(_STAGED, []).append((statement, row))


def take_written_rows(session: Session, statement: Executable) -> list[Mapping[str, Any]]:
    """In an ``after_commit`` listener: the rows ``statement`` wrote in the commit just made."""
    written = session.info.pop(_WRITTEN, None) or {}
    rows = written.pop(statement, [])
    if written:
        session.info[_WRITTEN] = written
    return rows


@event.listens_for(Session, "before_commit")
def _write_staged_rows(session: Session) -> None:
    """At the outermost commit only: what a released savepoint staged belongs to its parent,
    and stays staged so that a rollback of an enclosing savepoint can still drop it."""
    if session.in_nested_transaction():
        return
    staged = session.info.pop(_STAGED, None)
    if not staged:
        return
    by_statement: dict[Executable, list[Mapping[str, Any]]] = {}
    for statement, row in staged:
        by_statement.setdefault(statement, []).append(row)
    for statement, rows in by_statement.items():
        session.execute(statement, rows[0] if len(rows) == 1 else rows)
    session.info[_WRITTEN] = by_statement


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        marks = session.info.setdefault(_SAVEPOINT_MARKS, {})
        marks[transaction] = len(session.info.get(_STAGED, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back_rows(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        mark = session.info.get(_SAVEPOINT_MARKS, {}).get(previous_transaction)
        if mark is not None and _STAGED in session.info:
            del session.info[_STAGED][mark:]
    else:
        for key in (_STAGED, _SAVEPOINT_MARKS, _WRITTEN):
            session.info.pop(key, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_savepoints(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SAVEPOINT_MARKS, None)
        session.info.pop(_WRITTEN, None)  # after the after_commit listeners have read it
