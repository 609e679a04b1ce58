"""The rules of follow-ups, reminders, cadence and plans as pure functions, and the values
they run with (``Rules``: the environment's defaults overlaid with what an admin set)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm_engagement.domain.enums import FollowUpMethod, PlanTouch
from crm_engagement.settings import Settings

GRADES = ("A", "B", "C")

# seed 000 §3.2: A monthly call + monthly visit + holiday gift; B quarterly call + half-yearly
# visit; C half-yearly SMS/email greeting. A gift falls on each listed MM-DD (New Year,
# Labour Day, National Day by default; the lunar holidays move, so an admin lists the dates).
DEFAULT_PLAN_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "A": [
        {"touch": "call", "every_months": 1},
        {"touch": "visit", "every_months": 1},
        {"touch": "gift", "on": ["01-01", "05-01", "10-01"]},
    ],
    "B": [
        {"touch": "call", "every_months": 3},
        {"touch": "visit", "every_months": 6},
    ],
    "C": [{"touch": "greeting", "every_months": 6}],
}

# The follow-up method that completes a touch best (a hint for UIs and the reminder text).
TOUCH_METHOD = {
    PlanTouch.CALL: FollowUpMethod.PHONE,
    PlanTouch.VISIT: FollowUpMethod.VISIT,
    PlanTouch.GIFT: FollowUpMethod.VISIT,
    PlanTouch.GREETING: FollowUpMethod.SMS,
}


@dataclass(frozen=True)
class PlanItem:
    touch: str
    every_months: int | None = None
    on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    reminder_hour: int
    timezone: str
    summary_min_length: int
    cadence_days: Mapping[str, int]
    plan_templates: Mapping[str, tuple[PlanItem, ...]]
    first_follow_up_hours: int = 24
    plan_horizon_months: int = 12
    late_after: timedelta = timedelta(minutes=15)
    version: int = 0  # of the settings row; 0 while only the environment speaks
    raw_templates: Mapping[str, Any] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self, now: datetime) -> date:
        return local_date(now, self.timezone)

    def due_at(self, day: date) -> datetime:
        return reminder_due_at(day, self.reminder_hour, self.timezone)


def parse_templates(raw: Mapping[str, Any]) -> dict[str, tuple[PlanItem, ...]]:
    """Templates as stored (JSON) → ``PlanItem``s; raises ValueError naming what is wrong."""
    parsed: dict[str, tuple[PlanItem, ...]] = {}
    for grade, items in raw.items():
        if grade not in GRADES:
            raise ValueError(f"unknown grade {grade!r} (A, B or C)")
        if not isinstance(items, Sequence) or isinstance(items, str):
            raise ValueError(f"grade {grade}: a list of touches")
        out = []
        for item in items:
            if not isinstance(item, Mapping):
                raise ValueError(f"grade {grade}: each touch is an object")
            touch = item.get("touch")
            if touch not in set(PlanTouch):
                raise ValueError(
                    f"grade {grade}: touch must be one of {[t.value for t in PlanTouch]}"
                )
            every = item.get("every_months")
            on = item.get("on") or []
            if (every is None) == (not on):
                raise ValueError(f"grade {grade}: give either every_months or on (MM-DD dates)")
            if every is not None and (
                not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 24
            ):
                raise ValueError(f"grade {grade}: every_months is 1..24")
            for day in on:
                if parse_month_day(day) is None:
                    raise ValueError(f"grade {grade}: {day!r} is not a MM-DD date")
            out.append(PlanItem(touch=touch, every_months=every, on=tuple(on)))
        parsed[grade] = tuple(out)
    return parsed


def parse_month_day(value: object) -> tuple[int, int] | None:
    if not isinstance(value, str) or len(value) != 5 or value[2] != "-":
        return None
    try:
        month, day = int(value[:2]), int(value[3:])
        date(2024, month, day)  # a leap year: 02-29 is a valid MM-DD
    except ValueError:
        return None
    return month, day


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def default_rules(settings: Settings) -> Rules:
    return Rules(
        reminder_hour=settings.reminder_hour,
        timezone=settings.timezone,
        summary_min_length=settings.followup_summary_min_length,
        cadence_days={
            "A": settings.cadence_days_a,
            "B": settings.cadence_days_b,
            "C": settings.cadence_days_c,
        },
        plan_templates=parse_templates(DEFAULT_PLAN_TEMPLATES),
        first_follow_up_hours=settings.first_follow_up_hours,
        plan_horizon_months=settings.plan_horizon_months,
        late_after=timedelta(minutes=settings.reminder_late_after_minutes),
        raw_templates=DEFAULT_PLAN_TEMPLATES,
    )


# --------------------------------------------------------------------------- time


def local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def reminder_due_at(day: date, hour: int, timezone: str) -> datetime:
    """``hour``:00 local time on ``day``, in UTC. A wall time a DST change skips is read with
    the offset before the change (zoneinfo's fold=0), so it fires an hour later in local time."""
    local = datetime.combine(day, time(hour), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def next_follow_up_problem(next_at: datetime | None, now: datetime) -> str | None:
    """SPEC §2: the next follow-up is not in the past (a minute's grace for clock skew)."""
    if next_at is not None and next_at < now - timedelta(minutes=1):
        return "next_follow_up_at is in the past"
    return None


def summary_problem(summary: str, min_length: int) -> str | None:
    """A bare "contacted" is not a useful record: refuse summaries under the minimum."""
    if len(summary.strip()) < min_length:
        return f"summary needs at least {min_length} characters of what was discussed"
    return None


# --------------------------------------------------------------------------- cadence


def cadence_overdue_since(
    grade: str | None, last_follow_up_on: date | None, since_on: date, cadence: Mapping[str, int]
) -> date | None:
    """The first day a customer is past its cadence (None without a rule for its grade):
    the day after last follow-up + interval, or after the day it became known + interval."""
    if grade is None or grade not in cadence:
        return None
    anchor = last_follow_up_on or since_on
    return anchor + timedelta(days=cadence[grade] + 1)


def is_cadence_overdue(
    grade: str | None,
    last_follow_up_on: date | None,
    since_on: date,
    cadence: Mapping[str, int],
    today: date,
) -> bool:
    since = cadence_overdue_since(grade, last_follow_up_on, since_on, cadence)
    return since is not None and today >= since


# --------------------------------------------------------------------------- plans


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def horizon_end(today: date, months: int) -> date:
    return add_months(today, months)


def next_dates(item: PlanItem, last_due: date | None, today: date, until: date) -> list[date]:
    """The dates of ``item`` after its last planned one (or from today), up to ``until``;
    never a date before today."""
    found: list[date] = []
    if item.every_months:
        day = last_due or today
        while True:
            day = add_months(day, item.every_months)
            if day > until:
                break
            if day >= today:
                found.append(day)
        return found
    after = last_due or (today - timedelta(days=1))
    for year in range(today.year, until.year + 1):
        for value in item.on:
            parsed = parse_month_day(value)
            if parsed is None:
                continue
            month, dom = parsed
            if month == 2 and dom == 29 and not calendar.isleap(year):
                dom = 28
            day = date(year, month, dom)
            if after < day <= until and day >= today:
                found.append(day)
    return sorted(found)


def plan_for(
    templates: Mapping[str, tuple[PlanItem, ...]],
    grade: str | None,
    last_due_by_touch: Mapping[str, date],
    today: date,
    months: int,
) -> list[tuple[str, date]]:
    """The tasks to add for a customer of ``grade``: each touch's series continued from its
    last planned date to the horizon."""
    if grade is None:
        return []
    until = horizon_end(today, months)
    tasks: list[tuple[str, date]] = []
    for item in templates.get(grade, ()):
        tasks.extend(
            (item.touch, day)
            for day in next_dates(item, last_due_by_touch.get(item.touch), today, until)
        )
    return sorted(tasks, key=lambda t: (t[1], t[0]))
