"""The database's clock, as SQL: one clock for every process that shares a database.

Comparing a time one process stamped with another process's clock (a replica's, skewed, or
stamped seconds before a slow transaction committed) gives wrong answers; both sides of a
comparison are taken from the database server instead.

``utc_now_plus(seconds)`` renders as the current statement's time plus ``seconds`` (a bound
parameter, negative for the past): ``statement_timestamp()`` on PostgreSQL (a row staged for
commit is written by the commit's own statement, so this is its commit time, not the
transaction's start as ``now()`` would be), ``strftime(..., 'now')`` on SQLite, formatted as
SQLAlchemy stores SQLite datetimes so that string comparison is time comparison.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from crm_platform.db import UtcDateTime


class utc_now_plus(FunctionElement[Any]):
    type = UtcDateTime()
    inherit_cache = True
    name = "utc_now_plus"

    def __init__(self, seconds: ColumnElement[Any] | BindParameter[Any] | float = 0.0) -> None:
        if isinstance(seconds, int | float):
            seconds = bindparam(None, float(seconds), type_=Float)
        super().__init__(seconds)


class utc_now(FunctionElement[Any]):
    """The current statement's time, without a parameter (fits any executemany)."""

    type = UtcDateTime()
    inherit_cache = True
    name = "utc_now"


def seconds_param(name: str) -> BindParameter[Any]:
    """A named seconds offset for ``utc_now_plus``, given at execution."""
    return bindparam(name, type_=Float)


@compiles(utc_now_plus, "postgresql")
def _postgresql(element: utc_now_plus, compiler: Any, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    return f"(statement_timestamp() + make_interval(secs => CAST({seconds} AS double precision)))"


@compiles(utc_now, "postgresql")
def _postgresql_now(element: utc_now, compiler: Any, **kw: Any) -> str:
    return "statement_timestamp()"


@compiles(utc_now, "sqlite")
def _sqlite_now(element: utc_now, compiler: Any, **kw: Any) -> str:
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"


@compiles(utc_now_plus, "sqlite")
def _sqlite(element: utc_now_plus, compiler: Any, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    # '%f' gives SS.SSS; SQLAlchemy stores SS.ffffff, hence the three zeros.
    return (
        f"strftime('%Y-%m-%d %H:%M:%f000', 'now', printf('%+.3f seconds', CAST({seconds} AS REAL)))"
    )
