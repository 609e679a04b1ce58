"""Quiet hours: when a non-urgent message may go out to a person who set some. A pure
function of the moment, the window (local times, possibly spanning midnight) and the zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def not_before(
    now: datetime, start: time | None, end: time | None, zone: str, *, urgent: bool
) -> datetime:
    """``now``, or the end of the quiet window ``now`` falls in. Urgent messages (an SLA
    breach) never wait; a window with no start, no end or no length means none."""
    if urgent or start is None or end is None or start == end:
        return now
    local = now.astimezone(ZoneInfo(zone))
    clock = local.time().replace(tzinfo=None)
    if start < end:  # 12:00-14:00
        if start <= clock < end:
            return _at(local, end, days=0)
        return now
    # 22:00-07:00: quiet from start to midnight and from midnight to end.
    if clock >= start:
        return _at(local, end, days=1)
    if clock < end:
        return _at(local, end, days=0)
    return now


def _at(local: datetime, moment: time, *, days: int) -> datetime:
    day = local.date() + timedelta(days=days)
    zone = local.tzinfo
    return datetime.combine(day, moment, zone).astimezone(ZoneInfo("UTC"))
