"""Pipeline analytics (数据分析-销售机会, SPEC §2 and §7): per stage count, expected and weighted
amount, stage-to-stage conversion from the stage history, win rate, average cycle time of won
opportunities and the lost reasons, for a period and an owner.

The figures come from two aggregate queries (``db.opportunity_repository.stage_figures`` and
``funnel_reach``); this module only turns sums into the published figures, with ``Decimal``
arithmetic and explicit rounding (amounts to the fen, ratios to 4 places, days to 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import opportunity_repository as repository
from crm_engagement.db.opportunity_repository import AnalyticsFilter
from crm_engagement.domain import access
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.stages import FUNNEL, LostReason, Stage
from crm_platform.errors import InvalidInput

CENT = Decimal("0.01")
RATIO = Decimal("0.0001")
SECONDS_PER_DAY = Decimal(86400)


@dataclass(frozen=True)
class StageFigure:
    stage: Stage
    count: int
    expected_amount: Decimal
    weighted_amount: Decimal


@dataclass(frozen=True)
class Conversion:
    from_stage: Stage
    to_stage: Stage
    reached_from: int
    reached_to: int
    rate: Decimal | None  # None when no opportunity reached ``from_stage``


@dataclass(frozen=True)
class PipelineAnalytics:
    owner_id: str | None
    basis: str
    date_from: date | None
    date_to: date | None
    stages: list[StageFigure]
    open_count: int
    open_expected_amount: Decimal
    weighted_pipeline: Decimal
    conversions: list[Conversion]
    won_count: int
    lost_count: int
    win_rate: Decimal | None
    won_amount: Decimal  # Σ actual amounts of the won ones
    average_cycle_days: Decimal | None
    lost_reasons: dict[str, int]


@dataclass(frozen=True)
class PipelineQuery:
    owner_id: str | None = None
    basis: str = "created"  # the period applies to the creation, or the closing
    date_from: date | None = None  # inclusive, in the configured time zone
    date_to: date | None = None  # inclusive


def _period(query: PipelineQuery, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise InvalidInput("The period is empty: date_from is after date_to.", slug="empty-period")
    start = datetime.combine(query.date_from, time(), zone) if query.date_from else None
    end = (
        datetime.combine(query.date_to + timedelta(days=1), time(), zone) if query.date_to else None
    )
    return start, end


def _ratio(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, ROUND_HALF_UP)


async def pipeline_analytics(
    session: AsyncSession, ctx: RequestContext, query: PipelineQuery
) -> PipelineAnalytics:
    owner_id = access.analytics_owner(ctx.identity, query.owner_id)
    start, end = _period(query, ZoneInfo(ctx.settings.timezone))
    flt = AnalyticsFilter(owner_id=owner_id, basis=query.basis, start=start, end=end)
    rows = await repository.stage_figures(session, flt)
    reach = await repository.funnel_reach(session, flt)

    counts = dict.fromkeys(Stage, 0)
    expected = dict.fromkeys(Stage, Decimal(0))
    weighted_cents = dict.fromkeys(Stage, Decimal(0))
    lost_reasons = dict.fromkeys((r.value for r in LostReason), 0)
    won_cycle_seconds = Decimal(0)
    won_amount = Decimal(0)
    for row in rows:
        stage = Stage(row.stage)
        counts[stage] += row.count
        expected[stage] += row.expected
        weighted_cents[stage] += row.weighted_cents
        if stage == Stage.LOST and row.lost_reason is not None:
            lost_reasons[row.lost_reason] = lost_reasons.get(row.lost_reason, 0) + row.count
        if stage == Stage.WON:
            won_cycle_seconds += Decimal(str(row.cycle_seconds))
            won_amount += row.actual
    stages = [
        StageFigure(
            stage=stage,
            count=counts[stage],
            expected_amount=expected[stage].quantize(CENT),
            weighted_amount=(weighted_cents[stage] / 100).quantize(CENT, ROUND_HALF_UP),
        )
        for stage in Stage
    ]
    open_stages = [f for f in stages if f.stage.is_open]
    won, lost = counts[Stage.WON], counts[Stage.LOST]
    conversions = [
        Conversion(
            from_stage=FUNNEL[n],
            to_stage=FUNNEL[n + 1],
            reached_from=reach[n],
            reached_to=reach[n + 1],
            rate=_ratio(reach[n + 1], reach[n]),
        )
        for n in range(len(FUNNEL) - 1)
    ]
    average_cycle = (
        (won_cycle_seconds / won / SECONDS_PER_DAY).quantize(CENT, ROUND_HALF_UP) if won else None
    )
    return PipelineAnalytics(
        owner_id=owner_id,
        basis=query.basis,
        date_from=query.date_from,
        date_to=query.date_to,
        stages=stages,
        open_count=sum(f.count for f in open_stages),
        open_expected_amount=sum((f.expected_amount for f in open_stages), Decimal("0.00")),
        weighted_pipeline=sum((f.weighted_amount for f in open_stages), Decimal("0.00")),
        conversions=conversions,
        won_count=won,
        lost_count=lost,
        win_rate=_ratio(won, won + lost),
        won_amount=won_amount.quantize(CENT),
        average_cycle_days=average_cycle,
        lost_reasons=lost_reasons,
    )
