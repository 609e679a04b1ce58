"""Whose failure is it: the infrastructure's (database, pool, network) or the code's?

The consumer pauses and tries the same events again on an infrastructure failure, spending no
attempt; the HTTP edge answers 503 with ``retry-after`` instead of 500. Anything else is the
code's own failure (a constraint, a trigger's exception, a bug, a handler's time limit).
"""

from __future__ import annotations

import asyncpg
import sqlalchemy.exc

# SQLSTATE classes that say the database, not the statement, failed: connection exceptions,
# insufficient resources, operator intervention (shutdown, starting up); and the transient
# serialization failure and deadlock, which succeed when tried again.
_TRANSIENT_SQLSTATES = ("08", "53", "57P", "40001", "40P01")


class HandlerFailure(Exception):
    """A failure that is the code's own whatever it interrupted (a time limit, say)."""


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database, its pool or the network
    failed, not the code that was running."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(isinstance(e, HandlerFailure) for e in chain):
        return False
    return any(_says_infrastructure(error) for error in chain)


def _says_infrastructure(error: BaseException) -> bool:
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(
        error,
        sqlalchemy.exc.OperationalError
        | sqlalchemy.exc.InterfaceError
        | sqlalchemy.exc.TimeoutError  # no pool connection in time
        | sqlalchemy.exc.DisconnectionError
        | asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | OSError,  # refused, reset, unreachable; TimeoutError is one
    ):
        return True
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATES)
