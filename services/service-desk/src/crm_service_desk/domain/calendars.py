"""Business-hours calendars (SPEC §3 "business hours and Chinese holidays configurable"): when
does a duration of *business* time end, and how much business time lies between two moments.
Pure: no database, no clock.

Three kinds:

- ``always``: 24x7; hours and holidays are ignored (the default calendar).
- ``weekly``: working intervals per weekday (local time), minus the holidays an admin adds,
  plus the extra working days an admin adds.
- ``china``: the weekly hours, but whether a day works comes from ``chinese-calendar``
  (statutory holidays and the adjusted working weekends, 调休). Its data ends with a year
  (2026 in 1.11); for a later year the weekly rule decides, and one warning per year is
  logged so an operator knows to upgrade the package. Admin holidays and extra working days
  still win over the library.

A working day whose weekday has no hours (an adjusted working Saturday, an extra working
Sunday) works the hours of the first weekday that has some (normally Monday).

Times go in and come out as aware UTC datetimes; days are walked in the calendar's zone with
each day's intervals converted to UTC (zoneinfo), so a DST change shortens or lengthens that
day's business time as the wall clock does, and nothing loops minute by minute.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from crm_platform.errors import InvalidField, InvalidInput

log = logging.getLogger(__name__)

Interval = tuple[time, time]
WeeklyHours = Mapping[int, tuple[Interval, ...]]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE_DAY: tuple[Interval, ...] = ((time(9), time(18)),)
DEFAULT_WEEKLY_HOURS: WeeklyHours = dict.fromkeys(range(5), OFFICE_DAY)
# How far a walk looks for working time before deciding the calendar has none.
MAX_WALK_DAYS = 3 * 366
DEFAULT_TIMEZONE = "Asia/Shanghai"


class CalendarKind(StrEnum):
    ALWAYS = "always"
    WEEKLY = "weekly"
    CHINA = "china"


CALENDAR_KIND_LABELS = {
    CalendarKind.ALWAYS: ("全天候 (7x24)", "Always (24x7)"),
    CalendarKind.WEEKLY: ("每周工作时间", "Weekly hours"),
    CalendarKind.CHINA: ("中国法定节假日", "Chinese statutory calendar"),
}


class NoWorkingTime(InvalidInput):
    """The calendar has no working time within the walk's horizon (all days off)."""

    slug = "calendar-without-working-time"


_warned_years: set[int] = set()


def _library_says_workday(day: date) -> bool | None:
    """``chinese_calendar``'s answer, or None for a year it has no data for (warned once)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "chinese-calendar has no data for %s: the weekly hours decide which days work; "
                "upgrade the chinese-calendar package",
                day.year,
            )
        return None


@dataclass(frozen=True)
class BusinessCalendar:
    kind: CalendarKind = CalendarKind.ALWAYS
    timezone: str = DEFAULT_TIMEZONE
    weekly_hours: WeeklyHours = field(default_factory=lambda: dict(DEFAULT_WEEKLY_HOURS))
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if self.kind == CalendarKind.ALWAYS:
            return True
        if day in self.holidays:
            return False
        if day in self.extra_workdays:
            return True
        if self.kind == CalendarKind.CHINA:
            said = _library_says_workday(day)
            if said is not None:
                return said
        return bool(self.weekly_hours.get(day.weekday()))

    def hours_of(self, day: date) -> tuple[Interval, ...]:
        """The local working intervals of ``day`` (none on a day off)."""
        if self.kind == CalendarKind.ALWAYS:
            return ((time.min, time.min),)
        if not self.is_working_day(day):
            return ()
        own = self.weekly_hours.get(day.weekday())
        if own:
            return own
        return next((self.weekly_hours[d] for d in range(7) if self.weekly_hours.get(d)), ())

    def _moments(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's intervals as UTC moments; an end of 00:00 is the next midnight."""
        zone = self.zone
        for start, end in self.hours_of(day):
            end_day = day + timedelta(days=1) if end == time.min else day
            opens = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
            if closes > opens:  # an interval inside a DST gap has no time
                yield opens, closes

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time has elapsed after ``start`` (counted from
        the next opening when ``start`` is outside hours)."""
        start = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError("a business duration cannot be negative")
        if self.kind == CalendarKind.ALWAYS or not duration:
            return start + duration
        left = duration
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_WALK_DAYS):
            for opens, closes in self._moments(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if left <= closes - begin:
                    return begin + left
                left -= closes - begin
            day += timedelta(days=1)
        raise NoWorkingTime(
            f"The calendar has no working time left within {MAX_WALK_DAYS} days of "
            f"{start.isoformat()}: give it working hours or fewer holidays.",
            timezone=self.timezone,
        )

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed in [start, end]; zero if ``end`` is not after ``start``."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end <= start:
            return timedelta(0)
        if self.kind == CalendarKind.ALWAYS:
            return end - start
        zone = self.zone
        day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        total = timedelta(0)
        while day <= last:
            for opens, closes in self._moments(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta(0):
                    total += overlap
            day += timedelta(days=1)
        return total


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate_calendar(calendar: BusinessCalendar) -> None:
    """Refuse a definition the walks cannot use: an unknown zone, intervals out of order,
    overlapping or empty, a weekly or china calendar without any working hours."""
    if not valid_timezone(calendar.timezone):
        raise InvalidField("timezone", "is not a known IANA time zone, e.g. Asia/Shanghai")
    for weekday, intervals in calendar.weekly_hours.items():
        if weekday not in range(7):
            raise InvalidField("weekly_hours", f"has no weekday {weekday} (0=Monday … 6=Sunday)")
        _check_intervals(WEEKDAYS[weekday], intervals)
    if calendar.kind != CalendarKind.ALWAYS and not any(calendar.weekly_hours.values()):
        raise InvalidField("weekly_hours", "needs at least one working interval for this kind")
    both = calendar.holidays & calendar.extra_workdays
    if both:
        first = min(both).isoformat()
        raise InvalidField("extra_workdays", f"names {first}, which is also a holiday")


def _check_intervals(weekday: str, intervals: tuple[Interval, ...]) -> None:
    previous_end: time | None = None
    for start, end in intervals:
        if end != time.min and start >= end:
            raise InvalidField(
                f"weekly_hours.{weekday}",
                f"interval {start:%H:%M}-{end:%H:%M} must start before it ends "
                "(00:00 as an end means midnight)",
            )
        if previous_end is not None and (previous_end == time.min or start < previous_end):
            raise InvalidField(
                f"weekly_hours.{weekday}",
                f"intervals must be in order and not overlap (at {start:%H:%M})",
            )
        previous_end = end
