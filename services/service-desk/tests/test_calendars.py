"""Business-hours calendars, table-driven: due moments, elapsed business time, the Chinese
statutory calendar (2026's National Day and its adjusted working Saturday, as
``chinese-calendar`` 1.11 has them), admin holidays and extra working days, DST, validation."""

import logging
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from crm_platform.errors import InvalidField
from crm_service_desk.domain import calendars
from crm_service_desk.domain.calendars import (
    BusinessCalendar,
    CalendarKind,
    NoWorkingTime,
    validate_calendar,
)

SH = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)

ALWAYS = BusinessCalendar(CalendarKind.ALWAYS)
WEEKLY = BusinessCalendar(CalendarKind.WEEKLY)  # Mon-Fri 09:00-18:00, Asia/Shanghai
CHINA = BusinessCalendar(CalendarKind.CHINA)
LUNCH = BusinessCalendar(
    CalendarKind.WEEKLY,
    weekly_hours=dict.fromkeys(range(5), ((time(9), time(12)), (time(13), time(18)))),
)
WITH_ADMIN_DAYS = BusinessCalendar(
    CalendarKind.WEEKLY,
    holidays=frozenset({date(2026, 11, 30)}),  # a Monday off
    extra_workdays=frozenset({date(2026, 11, 28)}),  # a Saturday at work, on Monday's hours
)
CHINA_WITH_ADMIN_DAYS = BusinessCalendar(
    CalendarKind.CHINA,
    holidays=frozenset({date(2026, 10, 8)}),  # the company's own bridge day
    extra_workdays=frozenset({date(2026, 10, 5)}),  # on call during the holiday
)


def sh(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SH)


def test_the_library_dates_these_tests_rely_on() -> None:
    """National Day 2026 is Oct 1-7 in chinese-calendar 1.11 (Oct 8 works), with Saturday
    Oct 10 and Sunday Sep 20 as adjusted working days; its data ends with 2026."""
    national_day = [date(2026, 10, d) for d in range(1, 8)]
    assert not any(chinese_calendar.is_workday(d) for d in national_day)
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # a Saturday
    assert chinese_calendar.is_workday(date(2026, 9, 20))  # a Sunday
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 1))


# (calendar, start, business duration, due; all local Asia/Shanghai)
ADD_CASES = [
    # Friday 17:55 + 24 h: 5 min Fri, 9 h Mon, 9 h Tue, 5 h 55 min Wed.
    pytest.param(WEEKLY, sh(2026, 11, 27, 17, 55), 24 * H, sh(2026, 12, 2, 14, 55), id="fri-24h"),
    pytest.param(WEEKLY, sh(2026, 11, 27, 17, 55), 5 * MIN, sh(2026, 11, 27, 18), id="to-close"),
    pytest.param(WEEKLY, sh(2026, 11, 27, 17, 55), 6 * MIN, sh(2026, 11, 30, 9, 1), id="over-wknd"),
    pytest.param(WEEKLY, sh(2026, 11, 28, 11), 30 * MIN, sh(2026, 11, 30, 9, 30), id="from-sat"),
    pytest.param(WEEKLY, sh(2026, 11, 30, 7), H, sh(2026, 11, 30, 10), id="before-opening"),
    pytest.param(WEEKLY, sh(2026, 11, 30, 20), H, sh(2026, 12, 1, 10), id="after-close"),
    pytest.param(WEEKLY, sh(2026, 11, 30, 10), 0 * H, sh(2026, 11, 30, 10), id="zero"),
    pytest.param(WEEKLY, sh(2026, 11, 30, 9), 9 * H, sh(2026, 11, 30, 18), id="whole-day"),
    pytest.param(LUNCH, sh(2026, 11, 30, 11), 2 * H, sh(2026, 11, 30, 14), id="over-lunch"),
    pytest.param(LUNCH, sh(2026, 11, 30, 12, 30), 10 * MIN, sh(2026, 11, 30, 13, 10), id="lunch"),
    pytest.param(ALWAYS, sh(2026, 11, 27, 17, 55), 24 * H, sh(2026, 11, 28, 17, 55), id="24x7"),
    pytest.param(ALWAYS, sh(2026, 10, 1, 3), 10 * MIN, sh(2026, 10, 1, 3, 10), id="24x7-holiday"),
    # Wed Sep 30 15:00 + 24 h: 3 h Wed, National Day (Oct 1-7), 9 h Thu Oct 8, 9 h Fri Oct 9,
    # 3 h on the adjusted working Saturday Oct 10 (Monday's hours).
    pytest.param(CHINA, sh(2026, 9, 30, 15), 24 * H, sh(2026, 10, 10, 12), id="national-day"),
    pytest.param(CHINA, sh(2026, 9, 30, 17), 2 * H, sh(2026, 10, 8, 10), id="after-holiday"),
    pytest.param(CHINA, sh(2026, 10, 9, 17), 2 * H, sh(2026, 10, 10, 10), id="adjusted-sat"),
    pytest.param(CHINA, sh(2026, 10, 10, 17), 2 * H, sh(2026, 10, 12, 10), id="sun-rests"),
    pytest.param(CHINA, sh(2026, 9, 19, 10), H, sh(2026, 9, 20, 10), id="adjusted-sun"),
    # A weekly calendar works straight through National Day.
    pytest.param(WEEKLY, sh(2026, 9, 30, 17), 2 * H, sh(2026, 10, 1, 10), id="weekly-ignores"),
    # Admin days: Monday Nov 30 off, Saturday Nov 28 at work.
    pytest.param(
        WITH_ADMIN_DAYS, sh(2026, 11, 27, 17), 2 * H, sh(2026, 11, 28, 10), id="admin-extra"
    ),
    pytest.param(
        WITH_ADMIN_DAYS, sh(2026, 11, 28, 17), 2 * H, sh(2026, 12, 1, 10), id="admin-holiday"
    ),
    pytest.param(
        CHINA_WITH_ADMIN_DAYS, sh(2026, 9, 30, 17), 2 * H, sh(2026, 10, 5, 10), id="china-extra"
    ),
    pytest.param(
        CHINA_WITH_ADMIN_DAYS, sh(2026, 10, 5, 17), 2 * H, sh(2026, 10, 9, 10), id="china-hol"
    ),
    # 2027 is past the library's data: the weekly rule (Jan 1 2027 is a Friday, worked).
    pytest.param(CHINA, sh(2026, 12, 31, 17), 2 * H, sh(2027, 1, 1, 10), id="beyond-data"),
    pytest.param(CHINA, sh(2027, 1, 1, 17), 2 * H, sh(2027, 1, 4, 10), id="beyond-weekend"),
]


@pytest.mark.parametrize(("calendar", "start", "duration", "due"), ADD_CASES)
def test_add_business_time(calendar, start, duration, due) -> None:
    got = calendar.add(start.astimezone(UTC), duration)
    assert got == due
    assert got.tzinfo is UTC


@pytest.mark.parametrize(("calendar", "start", "duration", "due"), ADD_CASES)
def test_between_is_the_inverse_of_add(calendar, start, duration, due) -> None:
    assert calendar.between(start, calendar.add(start, duration)) == duration


# (calendar, start, end, business time between)
BETWEEN_CASES = [
    (WEEKLY, sh(2026, 11, 27, 17, 55), sh(2026, 12, 2, 14, 55), 24 * H),
    (WEEKLY, sh(2026, 11, 28, 9), sh(2026, 11, 29, 18), 0 * H),  # a weekend
    (WEEKLY, sh(2026, 11, 30, 18), sh(2026, 11, 30, 17), 0 * H),  # end before start
    (WEEKLY, sh(2026, 11, 30, 10), sh(2026, 11, 30, 10), 0 * H),
    (LUNCH, sh(2026, 11, 30, 8), sh(2026, 11, 30, 20), 8 * H),
    (CHINA, sh(2026, 10, 1, 0), sh(2026, 10, 8, 0), 0 * H),  # the whole holiday
    (CHINA, sh(2026, 10, 1, 0), sh(2026, 10, 12, 0), 27 * H),  # Oct 8, 9 and Saturday 10
    (ALWAYS, sh(2026, 10, 1, 0), sh(2026, 10, 8, 0), 7 * 24 * H),
]


@pytest.mark.parametrize(("calendar", "start", "end", "expected"), BETWEEN_CASES)
def test_between(calendar, start, end, expected) -> None:
    assert calendar.between(start, end) == expected


@pytest.mark.parametrize(
    ("calendar", "day", "working"),
    [
        (WEEKLY, date(2026, 10, 1), True),
        (WEEKLY, date(2026, 10, 10), False),
        (CHINA, date(2026, 10, 1), False),
        (CHINA, date(2026, 10, 10), True),
        (CHINA, date(2026, 10, 11), False),
        (ALWAYS, date(2026, 10, 11), True),
        (WITH_ADMIN_DAYS, date(2026, 11, 30), False),
        (WITH_ADMIN_DAYS, date(2026, 11, 28), True),
        (
            BusinessCalendar(CalendarKind.ALWAYS, holidays=frozenset({date(2026, 1, 1)})),
            date(2026, 1, 1),
            True,
        ),
    ],
)
def test_is_working_day(calendar, day, working) -> None:
    assert calendar.is_working_day(day) is working


def test_a_year_beyond_the_library_warns_once(caplog) -> None:
    calendars._warned_years.discard(2031)
    with caplog.at_level(logging.WARNING, logger=calendars.__name__):
        for day in (date(2031, 5, 1), date(2031, 5, 2), date(2031, 5, 5)):
            assert CHINA.is_working_day(day) is WEEKLY.is_working_day(day)
    assert [r.getMessage() for r in caplog.records if "2031" in r.getMessage()] != []
    assert len([r for r in caplog.records if "2031" in r.getMessage()]) == 1


def test_walks_day_by_day_not_minute_by_minute() -> None:
    began = wall.perf_counter()
    due = CHINA.add(sh(2026, 1, 5, 9), 2000 * H)  # about 222 working days
    assert wall.perf_counter() - began < 0.5
    assert CHINA.between(sh(2026, 1, 5, 9), due) == 2000 * H


def test_a_calendar_without_working_time_is_refused() -> None:
    nothing = BusinessCalendar(CalendarKind.WEEKLY, weekly_hours={})
    with pytest.raises(NoWorkingTime):
        nothing.add(sh(2026, 11, 30, 9), H)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        WEEKLY.add(datetime(2026, 11, 30, 9), H)


def test_daylight_saving_changes_the_days_length() -> None:
    """New York springs forward on 2026-03-08: 00:00-06:00 that day is five hours long."""
    ny = ZoneInfo("America/New_York")
    nights = BusinessCalendar(
        CalendarKind.WEEKLY, timezone="America/New_York", weekly_hours={6: ((time(0), time(6)),)}
    )
    start = datetime(2026, 3, 8, 0, tzinfo=ny)
    assert nights.between(start, datetime(2026, 3, 8, 12, tzinfo=ny)) == 5 * H
    assert nights.add(start, 5 * H) == datetime(2026, 3, 8, 6, tzinfo=ny)


def test_midnight_as_an_end_means_the_end_of_the_day() -> None:
    late = BusinessCalendar(CalendarKind.WEEKLY, weekly_hours={0: ((time(20), time(0)),)})
    validate_calendar(late)
    assert late.add(sh(2026, 11, 30, 23), 2 * H) == sh(2026, 12, 7, 21)


@pytest.mark.parametrize(
    ("calendar", "field"),
    [
        (BusinessCalendar(CalendarKind.WEEKLY, timezone="Mars/Olympus"), "timezone"),
        (BusinessCalendar(CalendarKind.WEEKLY, timezone=""), "timezone"),
        (
            BusinessCalendar(CalendarKind.WEEKLY, weekly_hours={0: ((time(18), time(9)),)}),
            "weekly_hours.mon",
        ),
        (
            BusinessCalendar(CalendarKind.WEEKLY, weekly_hours={1: ((time(9), time(9)),)}),
            "weekly_hours.tue",
        ),
        (
            BusinessCalendar(
                CalendarKind.WEEKLY, weekly_hours={2: ((time(9), time(13)), (time(12), time(18)))}
            ),
            "weekly_hours.wed",
        ),
        (
            BusinessCalendar(
                CalendarKind.WEEKLY, weekly_hours={3: ((time(13), time(18)), (time(9), time(12)))}
            ),
            "weekly_hours.thu",
        ),
        (
            BusinessCalendar(CalendarKind.WEEKLY, weekly_hours={7: ((time(9), time(18)),)}),
            "weekly_hours",
        ),
        (BusinessCalendar(CalendarKind.CHINA, weekly_hours={}), "weekly_hours"),
        (
            BusinessCalendar(
                CalendarKind.WEEKLY,
                holidays=frozenset({date(2026, 12, 1)}),
                extra_workdays=frozenset({date(2026, 12, 1)}),
            ),
            "extra_workdays",
        ),
    ],
)
def test_invalid_definitions_are_refused(calendar, field) -> None:
    with pytest.raises(InvalidField) as refused:
        validate_calendar(calendar)
    assert refused.value.field == field


@pytest.mark.parametrize("calendar", [ALWAYS, WEEKLY, CHINA, LUNCH, WITH_ADMIN_DAYS])
def test_valid_definitions_pass(calendar) -> None:
    validate_calendar(calendar)
    validate_calendar(BusinessCalendar(CalendarKind.ALWAYS, weekly_hours={}))
