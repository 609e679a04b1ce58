"""Follow-up analytics (数据分析-跟进, SPEC §2 and §7): how many follow-ups, by method, by
person, by feedback and by outcome; how many customers were followed up; the average days
between consecutive follow-ups of a customer; for a period of ``occurred_on`` days and a
follower.

Definitions (docs/engagement.md, "Follow-up analytics"):

- The selection: follow-ups with ``date_from <= occurred_on <= date_to`` (either bound
  optional; ``occurred_on`` is already the local day of the configured time zone) and, when
  one is asked for or the caller is a sales rep, ``follower_id``. A follow-up counts for the
  person who made it (the follower), whoever owns the customer now.
- System follow-ups (written by the service itself, method ``system``: a resolved complaint)
  are activity of nobody: they are left out of every figure and reported alone as
  ``system_count``.
- ``average_days_between``: the people's follow-ups of the selection, per customer in the
  order they happened; each consecutive pair is a gap of ``occurred_on`` days (0 for two on
  the same day). The mean over every gap of every customer with two or more follow-ups in the
  selection (Σ gap days / number of gaps), to 2 places half up; null with no gap. A follow-up
  outside the period (or by another follower, when one is selected) is not a neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_analytics_repository as repository
from crm_engagement.db import followup_repository
from crm_engagement.db.followup_analytics_repository import FollowUpAnalyticsFilter
from crm_engagement.domain import access
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.enums import Feedback, FollowUpMethod, Outcome
from crm_platform.errors import InvalidInput

DAYS = Decimal("0.01")
PERSON_METHODS = tuple(m.value for m in FollowUpMethod if m != FollowUpMethod.SYSTEM)


@dataclass(frozen=True)
class FollowUpAnalyticsQuery:
    follower_id: str | None = None
    date_from: date | None = None  # inclusive, on occurred_on
    date_to: date | None = None  # inclusive


@dataclass(frozen=True)
class PersonFigure:
    follower_id: str
    display_name: str | None  # from the user replica; None when this service never heard of them
    count: int


@dataclass(frozen=True)
class FollowUpAnalytics:
    follower_id: str | None
    date_from: date | None
    date_to: date | None
    total: int  # the people's follow-ups (system ones excluded)
    by_method: dict[str, int]
    by_person: list[PersonFigure]  # most follow-ups first
    by_feedback: dict[str, int]
    by_outcome: dict[str, int]
    customers_followed_up: int
    customers_with_repeat: int  # customers with two or more follow-ups in the selection
    gaps: int
    average_days_between: Decimal | None
    system_count: int


async def followup_analytics(
    session: AsyncSession, ctx: RequestContext, query: FollowUpAnalyticsQuery
) -> FollowUpAnalytics:
    follower_id = access.analytics_owner(ctx.identity, query.follower_id)
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise InvalidInput("The period is empty: date_from is after date_to.", slug="empty-period")
    flt = FollowUpAnalyticsFilter(
        follower_id=follower_id, occurred_from=query.date_from, occurred_to=query.date_to
    )
    rows = await repository.followup_counts(session, flt)
    gaps = await repository.gap_figures(session, flt)

    by_method = dict.fromkeys(PERSON_METHODS, 0)
    by_feedback = dict.fromkeys((f.value for f in Feedback), 0)
    by_outcome = dict.fromkeys((o.value for o in Outcome), 0)
    by_person: dict[str, int] = {}
    system_count = 0
    for row in rows:
        if row.system:
            system_count += row.count
            continue
        by_method[row.method] = by_method.get(row.method, 0) + row.count
        by_feedback[row.feedback] = by_feedback.get(row.feedback, 0) + row.count
        by_outcome[row.outcome] = by_outcome.get(row.outcome, 0) + row.count
        by_person[row.follower_id] = by_person.get(row.follower_id, 0) + row.count
    names = await followup_repository.user_names(session, by_person)
    people = [
        PersonFigure(follower_id=person, display_name=names.get(person), count=count)
        for person, count in sorted(by_person.items(), key=lambda item: (-item[1], item[0]))
    ]
    average = (
        (Decimal(gaps.gap_days) / gaps.gaps).quantize(DAYS, ROUND_HALF_UP) if gaps.gaps else None
    )
    return FollowUpAnalytics(
        follower_id=follower_id,
        date_from=query.date_from,
        date_to=query.date_to,
        total=sum(by_person.values()),
        by_method=by_method,
        by_person=people,
        by_feedback=by_feedback,
        by_outcome=by_outcome,
        customers_followed_up=gaps.customers,
        customers_with_repeat=gaps.customers_with_gaps,
        gaps=gaps.gaps,
        average_days_between=average,
        system_count=system_count,
    )
