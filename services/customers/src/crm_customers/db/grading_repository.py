"""SQL of customer grading; the domain calls these, routers never do."""

import uuid
from collections.abc import Sequence

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.grading_models import (
    CustomerEvaluation,
    EvaluationScore,
    GradingIndicator,
    GradingPolicy,
)

POLICY_ID = 1


async def list_indicators(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[GradingIndicator]:
    query = select(GradingIndicator).order_by(
        col(GradingIndicator.sort_order), col(GradingIndicator.name_zh)
    )
    if not include_inactive:
        query = query.where(col(GradingIndicator.active).is_(True))
    return list((await session.exec(query)).all())


async def get_indicator(
    session: AsyncSession, indicator_id: uuid.UUID, *, for_update: bool = False
) -> GradingIndicator | None:
    query = select(GradingIndicator).where(GradingIndicator.id == indicator_id)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def indicator_named(session: AsyncSession, name_zh: str) -> GradingIndicator | None:
    query = select(GradingIndicator).where(GradingIndicator.name_zh == name_zh)
    return (await session.exec(query)).first()


async def get_policy(session: AsyncSession, *, for_update: bool = False) -> GradingPolicy | None:
    query = select(GradingPolicy).where(GradingPolicy.id == POLICY_ID)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def get_evaluation(
    session: AsyncSession, evaluation_id: uuid.UUID
) -> CustomerEvaluation | None:
    return await session.get(CustomerEvaluation, evaluation_id)


async def evaluations_of(
    session: AsyncSession, customer_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[CustomerEvaluation], int]:
    """A customer's evaluations, newest first, and how many there are."""
    query = (
        select(CustomerEvaluation)
        .where(CustomerEvaluation.customer_id == customer_id)
        .order_by(col(CustomerEvaluation.evaluated_at).desc(), col(CustomerEvaluation.id))
    )
    page = (await session.exec(query.offset(offset).limit(limit))).all()
    total = await session.exec(
        select(func.count())
        .select_from(CustomerEvaluation)
        .where(CustomerEvaluation.customer_id == customer_id)
    )
    return list(page), int(total.one())


async def scores_of(
    session: AsyncSession, evaluation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[EvaluationScore]]:
    found: dict[uuid.UUID, list[EvaluationScore]] = {e: [] for e in evaluation_ids}
    if not evaluation_ids:
        return found
    query = (
        select(EvaluationScore)
        .where(col(EvaluationScore.evaluation_id).in_(list(evaluation_ids)))
        .order_by(col(EvaluationScore.position))
    )
    for line in (await session.exec(query)).all():
        found[line.evaluation_id].append(line)
    return found


async def move_evaluations(
    session: AsyncSession, source_id: uuid.UUID, target_id: uuid.UUID
) -> int:
    """A merged customer's evaluations follow the customer it merged into, each keeping
    which customer it was made for (``merged_from``, the first one through merge chains)."""
    result = await session.execute(
        update(CustomerEvaluation)
        .where(col(CustomerEvaluation.customer_id) == source_id)
        .values(
            customer_id=target_id,
            merged_from=func.coalesce(CustomerEvaluation.merged_from, source_id),
        )
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
