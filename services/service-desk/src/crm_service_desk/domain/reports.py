"""The reports a service supervisor reads (SPEC §3, §7): the weekly complaint review
(complaints by cause, how many, how long to resolve), SLA compliance per clock, volume by
type and priority, and customer satisfaction (CSAT) per agent and per period.

Periods are local dates in the configured time zone (``CRM_TIMEZONE``), ``date_to``
inclusive. CSAT is the share of answers scoring 4 or 5 (the industry's usual definition),
next to the average score and the response rate (answered / sent).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.errors import Forbidden, InvalidField
from crm_service_desk.db import report_repository as repo
from crm_service_desk.domain import access
from crm_service_desk.domain.context import RequestContext

MAX_PERIOD_DAYS = 366
# Reports cover the years a ticket can have; outside them a date is a typo (and 0001-01-01
# minus six days does not exist).
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)
SATISFIED_FROM = 4


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date  # inclusive

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        start = datetime.combine(self.date_from, time(), zone)
        end = datetime.combine(self.date_to + timedelta(days=1), time(), zone)
        return start, end


def _in_range(name: str, day: date | None) -> None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise InvalidField(name, f"must be between {EARLIEST} and {LATEST}", location="query")


def period_of(ctx: RequestContext, date_from: date | None, date_to: date | None) -> Period:
    """The period asked for; by default the last 7 days up to today (local)."""
    _in_range("date_from", date_from)
    _in_range("date_to", date_to)
    today = ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()
    end = date_to or today
    start = date_from or end - timedelta(days=6)
    if start > end:
        raise InvalidField("date_from", "must not be after date_to", location="query")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise InvalidField(
            "date_from", f"the period spans at most {MAX_PERIOD_DAYS} days", location="query"
        )
    return Period(start, end)


def week_of(day: date) -> Period:
    _in_range("week_of", day)
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def _ensure_reader(ctx: RequestContext) -> None:
    if not ctx.identity.roles & access.READ_ALL:
        raise Forbidden("Your role does not give access to the service-desk reports.")


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


@dataclass(frozen=True)
class CauseRow:
    cause: str
    count: int
    resolved: int
    avg_hours_to_resolve: float | None
    median_hours_to_resolve: float | None


@dataclass(frozen=True)
class ComplaintReview:
    period: Period
    total: int
    resolved: int
    open: int
    avg_hours_to_resolve: float | None
    median_hours_to_resolve: float | None
    by_cause: list[CauseRow]
    by_mood: dict[str, int]


def _spread(durations: list[timedelta]) -> tuple[float | None, float | None]:
    if not durations:
        return None, None
    mean = sum(durations, timedelta()) / len(durations)
    return _hours(mean), _hours(statistics.median(durations))


async def complaint_review(
    session: AsyncSession, ctx: RequestContext, period: Period
) -> ComplaintReview:
    """The weekly complaint review (seed 000 §3.3): complaints by cause, count, time to
    resolve (wall-clock hours from opening to resolution)."""
    _ensure_reader(ctx)
    rows = await repo.complaints_in(session, *period.bounds(ZoneInfo(ctx.settings.timezone)))
    by_cause: dict[str, list[Any]] = defaultdict(list)
    moods: dict[str, int] = defaultdict(int)
    for row in rows:
        by_cause[row.cause or "unspecified"].append(row)
        moods[row.mood or "unrecorded"] += 1
    causes = []
    for cause, group in sorted(by_cause.items(), key=lambda item: (-len(item[1]), item[0])):
        durations = [r.resolved_at - r.created_at for r in group if r.resolved_at is not None]
        avg, median = _spread(durations)
        causes.append(CauseRow(cause, len(group), len(durations), avg, median))
    all_durations = [r.resolved_at - r.created_at for r in rows if r.resolved_at is not None]
    avg, median = _spread(all_durations)
    return ComplaintReview(
        period=period,
        total=len(rows),
        resolved=len(all_durations),
        open=sum(1 for r in rows if r.status in ("pending_assignment", "in_progress")),
        avg_hours_to_resolve=avg,
        median_hours_to_resolve=median,
        by_cause=causes,
        by_mood=dict(moods),
    )


@dataclass(frozen=True)
class SlaKindRow:
    kind: str
    clocks: int
    met: int
    breached: int
    running: int
    paused: int
    compliance_percent: float | None  # met / (met + breached)


@dataclass(frozen=True)
class SlaCompliance:
    period: Period
    clocks: list[SlaKindRow]


async def sla_compliance(
    session: AsyncSession, ctx: RequestContext, period: Period
) -> SlaCompliance:
    """Per clock kind, of the clocks started in the period: met, breached (stopped late or
    running past due), still running, paused."""
    _ensure_reader(ctx)
    start, end = period.bounds(ZoneInfo(ctx.settings.timezone))
    rows = await repo.sla_outcomes_in(session, start, end, ctx.clock.now())
    result = []
    for kind, total, met, breached, paused in sorted(rows, key=lambda r: r[0]):
        met, breached, paused = int(met or 0), int(breached or 0), int(paused or 0)
        decided = met + breached
        result.append(
            SlaKindRow(
                kind=kind,
                clocks=int(total),
                met=met,
                breached=breached,
                running=int(total) - decided - paused,
                paused=paused,
                compliance_percent=round(100 * met / decided, 1) if decided else None,
            )
        )
    return SlaCompliance(period, result)


@dataclass(frozen=True)
class Volume:
    period: Period
    total: int
    by_type: dict[str, int]
    by_priority: dict[str, int]
    by_status: dict[str, int]
    by_type_and_priority: list[dict[str, Any]]


async def volume(session: AsyncSession, ctx: RequestContext, period: Period) -> Volume:
    """Tickets opened in the period, by type, priority and status."""
    _ensure_reader(ctx)
    rows = await repo.volume_in(session, *period.bounds(ZoneInfo(ctx.settings.timezone)))
    by_type: dict[str, int] = defaultdict(int)
    by_priority: dict[str, int] = defaultdict(int)
    by_status: dict[str, int] = defaultdict(int)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for ticket_type, priority, status, count in rows:
        by_type[ticket_type] += count
        by_priority[priority] += count
        by_status[status] += count
        pairs[(ticket_type, priority)] += count
    return Volume(
        period=period,
        total=sum(by_type.values()),
        by_type=dict(by_type),
        by_priority=dict(by_priority),
        by_status=dict(by_status),
        by_type_and_priority=[
            {"ticket_type": t, "priority": p, "count": n} for (t, p), n in sorted(pairs.items())
        ],
    )


@dataclass(frozen=True)
class Csat:
    answers: int
    average_score: float | None
    csat_percent: float | None  # share of answers scoring 4 or 5


@dataclass(frozen=True)
class CsatReport:
    period: Period
    surveys_sent: int
    response_rate_percent: float | None
    overall: Csat
    by_agent: dict[str, Csat] = field(default_factory=dict)
    by_bucket: dict[str, Csat] = field(default_factory=dict)  # week (Monday) or month


def _csat(scores: list[int]) -> Csat:
    if not scores:
        return Csat(0, None, None)
    satisfied = sum(1 for s in scores if s >= SATISFIED_FROM)
    return Csat(
        len(scores), round(sum(scores) / len(scores), 2), round(100 * satisfied / len(scores), 1)
    )


async def csat(
    session: AsyncSession,
    ctx: RequestContext,
    period: Period,
    *,
    agent_id: str | None = None,
    bucket: str = "week",
) -> CsatReport:
    """Satisfaction over the period, per agent and per week or month."""
    _ensure_reader(ctx)
    zone = ZoneInfo(ctx.settings.timezone)
    start, end = period.bounds(zone)
    rows = await repo.answered_surveys_in(session, start, end, agent_id)
    sent = await repo.surveys_sent_in(session, start, end, agent_id)
    per_agent: dict[str, list[int]] = defaultdict(list)
    per_bucket: dict[str, list[int]] = defaultdict(list)
    for agent, score, answered_at in rows:
        per_agent[agent or "unassigned"].append(score)
        day = answered_at.astimezone(zone).date()
        key = (
            (day - timedelta(days=day.weekday())).isoformat()
            if bucket == "week"
            else day.strftime("%Y-%m")
        )
        per_bucket[key].append(score)
    scores = [score for _, score, _ in rows]
    return CsatReport(
        period=period,
        surveys_sent=sent,
        response_rate_percent=round(100 * len(scores) / sent, 1) if sent else None,
        overall=_csat(scores),
        by_agent={agent: _csat(s) for agent, s in sorted(per_agent.items())},
        by_bucket={key: _csat(s) for key, s in sorted(per_bucket.items())},
    )
