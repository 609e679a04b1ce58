"""Which constraint an ``IntegrityError`` broke, read from the database's own report.

Code that caught every ``IntegrityError`` as "a duplicate" answered 409 "Tag None already
exists." for a NOT NULL violation. A use case that expects one constraint to fail (a unique
name taken by a concurrent create) asks ``is_unique_violation`` for exactly that one and lets
anything else through; the HTTP edge (``crm_platform.http.problems``) answers the rest by
kind, naming the column: unique → 409, not-null and check → 422, foreign key → 409.

PostgreSQL (asyncpg) reports SQLSTATE, table, column and constraint; the columns of a unique
or foreign-key violation come from its detail (``Key (name)=(x) already exists.``). SQLite
reports only a message (``UNIQUE constraint failed: tag.name``), which is parsed.

``refused_value`` does the same for a data exception: the SQLSTATEs that mean a value sent by
the client cannot be stored (a NUL character in a text, a number out of the column's range)
are the client's 422, not a 500; any other data exception stays the code's own failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

Kind = Literal["unique", "not_null", "foreign_key", "check", "unknown"]

_SQLSTATES: dict[str, Kind] = {
    "23505": "unique",
    "23502": "not_null",
    "23503": "foreign_key",
    "23514": "check",
}
_SQLITE = re.compile(r"^(UNIQUE|NOT NULL|FOREIGN KEY|CHECK) constraint failed(?::\s*(.*))?$")
_SQLITE_KINDS: dict[str, Kind] = {
    "UNIQUE": "unique",
    "NOT NULL": "not_null",
    "FOREIGN KEY": "foreign_key",
    "CHECK": "check",
}
_KEY_COLUMNS = re.compile(r"Key \((.+?)\)=")


@dataclass(frozen=True)
class Violation:
    kind: Kind
    table: str | None = None
    columns: tuple[str, ...] = ()
    constraint: str | None = None


def violation_of(exc: IntegrityError) -> Violation:
    """The constraint ``exc`` reports (kind ``unknown`` when the driver says nothing usable)."""
    error = _asyncpg_error(exc)
    if error is not None:
        kind = _SQLSTATES.get(error.sqlstate or "", "unknown")
        return _postgresql(error, kind)
    match = _SQLITE.match(str(exc.orig).strip())
    if match is None:
        return Violation("unknown")
    kind = _SQLITE_KINDS[match.group(1)]
    subject = (match.group(2) or "").strip()
    if kind in ("unique", "not_null") and subject:
        qualified = [part.strip() for part in subject.split(",")]
        if all("." in part for part in qualified):
            return Violation(
                kind,
                table=qualified[0].split(".", 1)[0],
                columns=tuple(part.split(".", 1)[1] for part in qualified),
            )
    return Violation(kind, constraint=subject or None)


def _asyncpg_error(exc: DBAPIError) -> asyncpg.PostgresError | None:
    """asyncpg's own exception (with table, column, constraint, detail), which sits behind
    SQLAlchemy's adapter (that one carries only the SQLSTATE)."""
    error: BaseException | None = exc.orig
    while error is not None:
        if isinstance(error, asyncpg.PostgresError):
            return error
        error = error.__cause__
    return None


def _postgresql(error: asyncpg.PostgresError, kind: Kind) -> Violation:
    column = getattr(error, "column_name", None)
    columns: tuple[str, ...] = (column,) if column else ()
    if not columns:
        key = _KEY_COLUMNS.search(getattr(error, "detail", None) or "")
        if key is not None:
            columns = tuple(part.strip().strip('"') for part in key.group(1).split(","))
    return Violation(
        kind,
        table=getattr(error, "table_name", None),
        columns=columns,
        constraint=getattr(error, "constraint_name", None),
    )


def is_unique_violation(exc: IntegrityError, table: str, *columns: str) -> bool:
    """True when ``exc`` is the unique constraint of ``table`` on exactly ``columns``."""
    violation = violation_of(exc)
    return (
        violation.kind == "unique"
        and violation.table == table
        and set(violation.columns) == set(columns)
    )


# SQLSTATEs of a value the client sent that the column cannot hold, and what to tell it.
_REFUSED_VALUES = {
    "22000": "a value cannot be stored as its field's type",  # asyncpg: invalid query argument
    "22001": "a text is longer than its field allows",
    "22003": "a number is out of its field's range",
    "22007": "a date or time is not valid",
    "22008": "a date or time is out of range",
    "22021": "a text contains a character that cannot be stored (NUL)",
    "22P05": "a text contains a character that cannot be stored",
}


def refused_value(exc: DBAPIError) -> str | None:
    """Why the database refused a value the client sent, or None if ``exc`` is not that.

    Not only ``DataError``: SQLAlchemy's asyncpg adapter reports some of these (a NUL
    character) as a bare ``DBAPIError``."""
    error = _asyncpg_error(exc)
    if error is None:
        return None
    return _REFUSED_VALUES.get(error.sqlstate or "")
