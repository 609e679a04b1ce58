"""Use cases of customer grading (客户关系评估表, seed 003; SPEC §1 Grading).

Admins keep the indicators and the grading policy. Evaluating a customer scores every active
indicator, stores the form (with a copy of each indicator as it was), sets the customer's grade
through the customer's versioned update path and stages ``customer.graded``.

Who evaluates: sales managers and admins any customer; a sales rep their own customers only
(seed 003: the relationship specialist gathers the facts and fills in the form; SPEC §1: the
grade is "set by the grading evaluation or by a manager", and an evaluation is that recorded,
rule-based path, so a rep gets no way to pick a grade by hand). Service roles and viewers read
evaluations of the customers they see but do not write them.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import grading_repository as repo
from crm_customers.db.grading_models import (
    CustomerEvaluation,
    EvaluationScore,
    GradingIndicator,
    GradingPolicy,
)
from crm_customers.domain import access, scoring
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import Grade, Recommendation
from crm_customers.domain.records import (
    apply_changes,
    ensure_version,
    flush_versioned,
    load_for_change,
    load_visible,
    snapshot_of,
    stage,
)
from crm_customers.events import published as ev
from crm_platform.errors import Conflict, Forbidden, InvalidField, NotFound
from crm_platform.integrity import is_unique_violation

EVALUATORS = access.WRITE_ALL | access.WRITE_OWN


@dataclass(frozen=True)
class ScoreInput:
    indicator_id: uuid.UUID
    score: Decimal
    basis: str | None = None
    remark: str | None = None


@dataclass(frozen=True)
class EvaluationInput:
    scores: Sequence[ScoreInput]
    comment: str | None = None
    recommendation: Recommendation | None = None
    recommendation_reason: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class EvaluationView:
    evaluation: CustomerEvaluation
    scores: list[EvaluationScore]


# --- indicators ---------------------------------------------------------------------------


async def list_indicators(
    session: AsyncSession, ctx: RequestContext, *, include_inactive: bool
) -> list[GradingIndicator]:
    """Everyone who works with customers may read the form's indicators."""
    access.owner_scope(ctx.identity)
    return await repo.list_indicators(session, include_inactive=include_inactive)


async def create_indicator(
    session: AsyncSession, ctx: RequestContext, fields: dict[str, Any]
) -> GradingIndicator:
    access.ensure_settings_admin(ctx.identity)
    now = datetime.now(UTC)
    await _ensure_name_free(session, fields["name_zh"], None)
    try:
        indicator = GradingIndicator(**fields, created_at=now, updated_at=now)
        session.add(indicator)
        await session.flush()  # the unique name is checked here, inside the caller's transaction
    except IntegrityError as exc:
        if is_unique_violation(exc, "grading_indicator", "name_zh"):  # a concurrent create
            raise _duplicate_name(fields["name_zh"]) from None
        raise
    return indicator


async def update_indicator(
    session: AsyncSession,
    ctx: RequestContext,
    indicator_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    expected_version: int,
) -> GradingIndicator:
    """Change or (``active: false``) retire an indicator; past evaluations keep their copy."""
    access.ensure_settings_admin(ctx.identity)
    indicator = await repo.get_indicator(session, indicator_id, for_update=True)
    if indicator is None:
        raise NotFound(f"No grading indicator {indicator_id}.")
    ensure_version(indicator, expected_version)  # type: ignore[arg-type]
    if "name_zh" in changes:
        await _ensure_name_free(session, changes["name_zh"], indicator.id)
    try:
        for field, value in changes.items():
            setattr(indicator, field, value)
        indicator.updated_at = datetime.now(UTC)
        session.add(indicator)
        await flush_versioned(session, expected_version)
    except IntegrityError as exc:
        if is_unique_violation(exc, "grading_indicator", "name_zh"):
            raise _duplicate_name(changes["name_zh"]) from None
        raise
    return indicator


async def _ensure_name_free(session: AsyncSession, name_zh: str, exclude: uuid.UUID | None) -> None:
    existing = await repo.indicator_named(session, name_zh)
    if existing is not None and existing.id != exclude:
        raise _duplicate_name(name_zh, existing.id)


def _duplicate_name(name_zh: object, existing: uuid.UUID | None = None) -> Conflict:
    extra = {"existing_id": str(existing)} if existing else {}
    return Conflict(
        f"A grading indicator named {name_zh} already exists.",
        slug="duplicate-indicator",
        **extra,
    )


# --- policy -------------------------------------------------------------------------------


def rules_of(policy: GradingPolicy) -> scoring.GradingRules:
    return scoring.GradingRules(
        grade_a_min=policy.grade_a_min,
        grade_b_min=policy.grade_b_min,
        terminate_below=policy.terminate_below,
        recommendations={
            Grade.A: Recommendation(policy.recommendation_a),
            Grade.B: Recommendation(policy.recommendation_b),
            Grade.C: Recommendation(policy.recommendation_c),
        },
    )


async def _load_policy(session: AsyncSession, *, for_update: bool = False) -> GradingPolicy:
    policy = await repo.get_policy(session, for_update=for_update)
    if policy is None:  # the migration seeds it; only a hand-edited database lacks it
        raise Conflict("The grading policy is missing; an admin must set it.", slug="no-policy")
    return policy


async def get_policy(session: AsyncSession, ctx: RequestContext) -> GradingPolicy:
    access.owner_scope(ctx.identity)
    return await _load_policy(session)


async def replace_policy(
    session: AsyncSession,
    ctx: RequestContext,
    rules: scoring.GradingRules,
    *,
    expected_version: int,
) -> GradingPolicy:
    """Set new thresholds and recommendations; they apply to evaluations from now on."""
    access.ensure_settings_admin(ctx.identity)
    broken = scoring.rules_error(rules)
    if broken is not None:
        raise InvalidField(*broken)
    policy = await _load_policy(session, for_update=True)
    ensure_version(policy, expected_version)  # type: ignore[arg-type]
    policy.grade_a_min = rules.grade_a_min
    policy.grade_b_min = rules.grade_b_min
    policy.terminate_below = rules.terminate_below
    policy.recommendation_a = rules.recommendations[Grade.A].value
    policy.recommendation_b = rules.recommendations[Grade.B].value
    policy.recommendation_c = rules.recommendations[Grade.C].value
    policy.updated_at = datetime.now(UTC)
    policy.updated_by = ctx.actor
    session.add(policy)
    await flush_versioned(session, expected_version)
    return policy


def policy_snapshot(policy: GradingPolicy) -> dict[str, Any]:
    return {
        "version": policy.version,
        "grade_a_min": str(scoring.round_cents(policy.grade_a_min)),
        "grade_b_min": str(scoring.round_cents(policy.grade_b_min)),
        "terminate_below": str(scoring.round_cents(policy.terminate_below)),
        "recommendations": {
            "A": policy.recommendation_a,
            "B": policy.recommendation_b,
            "C": policy.recommendation_c,
        },
    }


# --- evaluations --------------------------------------------------------------------------


def _ensure_may_evaluate(ctx: RequestContext) -> None:
    if not ctx.identity.roles & EVALUATORS:
        raise Forbidden(
            "Only sales managers, admins and the customer's own sales rep may evaluate a customer."
        )


def _check_scores(
    indicators: Sequence[GradingIndicator], scores: Sequence[ScoreInput]
) -> list[tuple[GradingIndicator, ScoreInput]]:
    """Every active indicator exactly once, each score within 0..max_score."""
    by_id = {i.id: i for i in indicators}
    seen: set[uuid.UUID] = set()
    lines = []
    for n, given in enumerate(scores):
        indicator = by_id.get(given.indicator_id)
        if indicator is None:
            raise InvalidField(
                f"scores.{n}.indicator_id",
                f"{given.indicator_id} is not an active grading indicator",
            )
        if given.indicator_id in seen:
            raise InvalidField(f"scores.{n}.indicator_id", f"scores {indicator.name_zh} twice")
        seen.add(given.indicator_id)
        if not Decimal(0) <= given.score <= indicator.max_score:
            raise InvalidField(
                f"scores.{n}.score",
                f"must be between 0 and {indicator.max_score} for {indicator.name_zh}",
            )
        lines.append((indicator, given))
    missing = [i.name_zh for i in indicators if i.id not in seen]
    if missing:
        raise InvalidField(
            "scores", f"must score every active indicator; missing: {', '.join(missing)}"
        )
    order = {i.id: n for n, i in enumerate(indicators)}
    return sorted(lines, key=lambda line: order[line[0].id])


async def evaluate_customer(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    form: EvaluationInput,
) -> EvaluationView:
    """Score the form, store it, set the grade; ``customer.updated`` and ``customer.graded``."""
    _ensure_may_evaluate(ctx)
    customer = await load_for_change(session, ctx, customer_id, form.expected_version)
    if customer.archived_at is not None:
        raise Conflict(
            f"Customer {customer.code} is archived; restore it before evaluating it.",
            slug="customer-archived",
        )
    indicators = await repo.list_indicators(session)
    if not indicators:
        raise Conflict(
            "No grading indicator is active; an admin must set some up first.",
            slug="no-active-indicators",
        )
    lines = _check_scores(indicators, form.scores)
    policy = await _load_policy(session)
    result = scoring.score(
        [scoring.IndicatorScore(i.weight, i.max_score, s.score) for i, s in lines],
        rules_of(policy),
    )
    recommendation = form.recommendation or result.recommendation
    if recommendation != result.recommendation and not form.recommendation_reason:
        raise InvalidField(
            "recommendation_reason",
            f"is required to recommend {recommendation.value} where the rules say "
            f"{result.recommendation.value}",
        )

    previous_grade = customer.grade
    view = await apply_changes(
        session, ctx, customer, {"grade": result.grade.value}, reason="grading"
    )
    now = datetime.now(UTC)
    evaluation = CustomerEvaluation(
        customer_id=customer.id,
        total=result.total,
        grade=result.grade.value,
        previous_grade=previous_grade,
        computed_recommendation=result.recommendation.value,
        recommendation=recommendation.value,
        recommendation_reason=form.recommendation_reason,
        comment=form.comment,
        policy=policy_snapshot(policy),
        customer_version=customer.version,
        evaluated_by=ctx.actor,
        evaluated_at=now,
    )
    session.add(evaluation)
    await session.flush()
    scores = [
        EvaluationScore(
            evaluation_id=evaluation.id,
            indicator_id=indicator.id,
            position=n,
            name_zh=indicator.name_zh,
            name_en=indicator.name_en,
            weight=indicator.weight,
            max_score=indicator.max_score,
            score=given.score,
            points=points,
            basis=given.basis,
            remark=given.remark,
        )
        for n, ((indicator, given), points) in enumerate(zip(lines, result.points, strict=True))
    ]
    session.add_all(scores)
    await session.flush()
    stage(
        session,
        ctx,
        ev.CUSTOMER_GRADED,
        ev.CustomerGraded(
            customer=snapshot_of(view.customer, view.tags),
            evaluation_id=str(evaluation.id),
            total=result.total,
            grade=result.grade.value,
            previous_grade=previous_grade,
            recommendation=recommendation.value,
            evaluated_at=now,
        ),
        customer.id,
    )
    evaluated = EvaluationView(evaluation, scores)
    return evaluated


async def list_evaluations(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    *,
    page: int,
    page_size: int,
) -> tuple[list[EvaluationView], int]:
    """A customer's evaluation history, newest first (404 when the customer is not visible)."""
    await load_visible(session, ctx, customer_id)
    evaluations, total = await repo.evaluations_of(
        session, customer_id, offset=(page - 1) * page_size, limit=page_size
    )
    scores = await repo.scores_of(session, [e.id for e in evaluations])
    return [EvaluationView(e, scores[e.id]) for e in evaluations], total


async def get_evaluation(
    session: AsyncSession, ctx: RequestContext, evaluation_id: uuid.UUID
) -> EvaluationView:
    """One evaluation; an evaluation of a customer the caller cannot see does not exist."""
    evaluation = await repo.get_evaluation(session, evaluation_id)
    if evaluation is None:
        raise NotFound(f"No evaluation {evaluation_id}.")
    try:
        await load_visible(session, ctx, evaluation.customer_id)
    except NotFound:
        raise NotFound(f"No evaluation {evaluation_id}.") from None
    scores = await repo.scores_of(session, [evaluation.id])
    return EvaluationView(evaluation, scores[evaluation.id])
