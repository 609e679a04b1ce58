"""Times a client sends (a list's ``created_from``, say), as the aware UTC datetimes every
column stores (``crm_platform.db.UtcDateTime``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def _in_utc(value: datetime) -> datetime:
    """A time without an offset is UTC; one whose UTC form leaves the calendar (year 9999 at
    -14:00) is refused with a 422 naming the field, instead of overflowing when bound (500)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of representable times") from None


UtcMoment = Annotated[datetime, AfterValidator(_in_utc)]
"""``created_from: UtcMoment | None = None`` in a route or schema."""
