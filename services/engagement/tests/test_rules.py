"""The rules as pure functions, table-driven: due times across zones, validation, cadence,
plan generation, plan templates."""

from datetime import UTC, date, datetime, timedelta

import pytest

from crm_engagement.domain.rules import (
    DEFAULT_PLAN_TEMPLATES,
    PlanItem,
    add_months,
    cadence_overdue_since,
    is_cadence_overdue,
    local_date,
    next_dates,
    next_follow_up_problem,
    parse_templates,
    plan_for,
    reminder_due_at,
    summary_problem,
)

CADENCE = {"A": 7, "B": 14, "C": 30}


@pytest.mark.parametrize(
    ("day", "hour", "zone", "expected"),
    [
        # Shanghai is UTC+8 all year (no DST): 09:00 is 01:00 UTC, winter and summer.
        (date(2026, 1, 15), 9, "Asia/Shanghai", datetime(2026, 1, 15, 1, tzinfo=UTC)),
        (date(2026, 7, 15), 9, "Asia/Shanghai", datetime(2026, 7, 15, 1, tzinfo=UTC)),
        # An early hour in Shanghai is the previous day in UTC.
        (date(2026, 3, 1), 6, "Asia/Shanghai", datetime(2026, 2, 28, 22, tzinfo=UTC)),
        (date(2026, 3, 1), 0, "Asia/Shanghai", datetime(2026, 2, 28, 16, tzinfo=UTC)),
        (date(2026, 3, 1), 23, "Asia/Shanghai", datetime(2026, 3, 1, 15, tzinfo=UTC)),
        (date(2026, 3, 1), 9, "UTC", datetime(2026, 3, 1, 9, tzinfo=UTC)),
        # A zone with DST: the offset of that day applies.
        (date(2026, 1, 15), 9, "America/New_York", datetime(2026, 1, 15, 14, tzinfo=UTC)),
        (date(2026, 7, 15), 9, "America/New_York", datetime(2026, 7, 15, 13, tzinfo=UTC)),
        # 02:00 does not exist on 8 March 2026 in New York: read with the earlier offset.
        (date(2026, 3, 8), 2, "America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ],
)
def test_reminder_due_at(day: date, hour: int, zone: str, expected: datetime) -> None:
    assert reminder_due_at(day, hour, zone) == expected


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2026, 5, 31, 15, 59, tzinfo=UTC), "Asia/Shanghai", date(2026, 5, 31)),
        (datetime(2026, 5, 31, 16, 0, tzinfo=UTC), "Asia/Shanghai", date(2026, 6, 1)),
        (datetime(2026, 5, 31, 16, 0, tzinfo=UTC), "UTC", date(2026, 5, 31)),
    ],
)
def test_local_date(moment: datetime, zone: str, expected: date) -> None:
    assert local_date(moment, zone) == expected


@pytest.mark.parametrize(
    ("summary", "minimum", "refused"),
    [
        ("联系了", 10, True),
        ("contacted", 10, True),
        ("  contacted   ", 10, True),  # blanks do not count
        ("电话沟通了采购计划和预算", 10, False),
        ("contacted", 5, False),
        ("x" * 10, 10, False),
    ],
)
def test_summary_minimum(summary: str, minimum: int, refused: bool) -> None:
    assert (summary_problem(summary, minimum) is not None) is refused


NOW = datetime(2026, 6, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("next_at", "refused"),
    [
        (None, False),
        (NOW + timedelta(days=1), False),
        (NOW, False),
        (NOW - timedelta(seconds=30), False),  # within a minute of clock skew
        (NOW - timedelta(minutes=2), True),
        (NOW - timedelta(days=1), True),
    ],
)
def test_next_follow_up_not_in_the_past(next_at: datetime | None, refused: bool) -> None:
    assert (next_follow_up_problem(next_at, NOW) is not None) is refused


@pytest.mark.parametrize(
    ("grade", "last", "since", "today", "overdue"),
    [
        ("A", date(2026, 6, 1), date(2026, 1, 1), date(2026, 6, 8), False),  # 7 days: on time
        ("A", date(2026, 6, 1), date(2026, 1, 1), date(2026, 6, 9), True),
        ("B", date(2026, 6, 1), date(2026, 1, 1), date(2026, 6, 15), False),
        ("B", date(2026, 6, 1), date(2026, 1, 1), date(2026, 6, 16), True),
        ("C", date(2026, 6, 1), date(2026, 1, 1), date(2026, 7, 1), False),
        ("C", date(2026, 6, 1), date(2026, 1, 1), date(2026, 7, 2), True),
        ("A", None, date(2026, 6, 1), date(2026, 6, 9), True),  # never followed up
        ("A", None, date(2026, 6, 5), date(2026, 6, 9), False),  # known only since the 5th
        (None, None, date(2020, 1, 1), date(2026, 6, 9), False),  # no grade: no cadence
    ],
)
def test_cadence(grade, last, since, today, overdue) -> None:  # type: ignore[no-untyped-def]
    assert is_cadence_overdue(grade, last, since, CADENCE, today) is overdue


def test_overdue_since_is_the_day_after_the_interval() -> None:
    assert cadence_overdue_since("A", date(2026, 6, 1), date(2026, 1, 1), CADENCE) == date(
        2026, 6, 9
    )


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 6, 30), 6, date(2026, 12, 30)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


TEMPLATES = parse_templates(DEFAULT_PLAN_TEMPLATES)
TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("grade", "expected_counts"),
    [
        (
            "A",
            {"call": 12, "visit": 12, "gift": 3},
        ),  # monthly + 10-01, 01-01, 05-01
        ("B", {"call": 4, "visit": 2}),
        ("C", {"greeting": 2}),
        (None, {}),
    ],
)
def test_a_year_of_plan_per_grade(grade: str | None, expected_counts: dict[str, int]) -> None:
    tasks = plan_for(TEMPLATES, grade, {}, TODAY, 12)
    counts: dict[str, int] = {}
    for touch, day in tasks:
        counts[touch] = counts.get(touch, 0) + 1
        assert TODAY <= day <= date(2027, 6, 15)
    assert counts == expected_counts
    assert tasks == sorted(tasks, key=lambda t: (t[1], t[0]))


def test_b_plan_dates() -> None:
    tasks = plan_for(TEMPLATES, "B", {}, TODAY, 12)
    assert [d for t, d in tasks if t == "call"] == [
        date(2026, 9, 15),
        date(2026, 12, 15),
        date(2027, 3, 15),
        date(2027, 6, 15),
    ]
    assert [d for t, d in tasks if t == "visit"] == [date(2026, 12, 15), date(2027, 6, 15)]


def test_top_up_continues_each_series_from_its_last_date() -> None:
    anchors = {"call": date(2027, 3, 15), "visit": date(2027, 6, 15)}
    # A month later the horizon moved a month: the next call (2027-06-15) comes in; once it is
    # planned, nothing is planned twice.
    assert plan_for(TEMPLATES, "B", anchors, date(2026, 7, 15), 12) == [("call", date(2027, 6, 15))]
    assert plan_for(TEMPLATES, "B", {**anchors, "call": date(2027, 6, 15)}, TODAY, 12) == []


def test_holiday_dates_after_the_last_planned_one() -> None:
    item = PlanItem(touch="gift", on=("01-01", "10-01"))
    assert next_dates(item, None, date(2026, 10, 1), date(2027, 10, 1)) == [
        date(2026, 10, 1),
        date(2027, 1, 1),
        date(2027, 10, 1),
    ]
    assert next_dates(item, date(2026, 10, 1), date(2026, 10, 1), date(2027, 10, 1)) == [
        date(2027, 1, 1),
        date(2027, 10, 1),
    ]


@pytest.mark.parametrize(
    "raw",
    [
        {"D": []},
        {"A": [{"touch": "dance", "every_months": 1}]},
        {"A": [{"touch": "call"}]},
        {"A": [{"touch": "call", "every_months": 1, "on": ["01-01"]}]},
        {"A": [{"touch": "call", "every_months": 0}]},
        {"A": [{"touch": "gift", "on": ["13-01"]}]},
        {"A": "call"},
    ],
)
def test_bad_templates_are_refused(raw: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError):
        parse_templates(raw)
