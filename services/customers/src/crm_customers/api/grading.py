"""Routes of customer grading (客户关系评估表): indicators, policy, evaluations."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import SortOrder
from crm_customers.domain import grading, scoring
from crm_customers.domain.enums import Grade, Recommendation
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once
from crm_platform.http.patch import Clearable, PatchBody
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(tags=["grading"])

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Weight = Annotated[Decimal, Field(gt=0, le=10_000, decimal_places=2)]
MaxScore = Annotated[Decimal, Field(gt=0, le=100_000, decimal_places=2)]
Score = Annotated[Decimal, Field(ge=0, le=100_000, decimal_places=2)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]
Cents = Annotated[Decimal, PlainSerializer(scoring.round_cents, return_type=Decimal)]
"""Decimals answered with exactly 2 places ("85.00"), as strings in JSON."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- indicators ---------------------------------------------------------------------------


class IndicatorIn(Strict):
    name_zh: Label
    name_en: Label
    description: Note | None = None
    weight: Weight = Field(description="Relative weight; the defaults sum to 100")
    max_score: MaxScore = Decimal(100)
    active: bool = True
    sort_order: SortOrder = 0


class IndicatorPatch(PatchBody):
    version: int | None = Field(default=None, ge=1, description="Or send If-Match")
    name_zh: Label | None = None
    name_en: Label | None = None
    description: Annotated[Note | None, Clearable] = None
    weight: Weight | None = None
    max_score: MaxScore | None = None
    active: bool | None = Field(default=None, description="false retires it (no deletes)")
    sort_order: SortOrder | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class IndicatorOut(BaseModel):
    id: uuid.UUID
    name_zh: str
    name_en: str
    description: str | None
    weight: Cents
    max_score: Cents
    active: bool
    sort_order: int
    version: int


@router.get("/v1/grading/indicators", response_model=list[IndicatorOut])
async def list_indicators(
    session: SessionDep, ctx: Context, include_inactive: Annotated[bool, Query()] = False
) -> list[IndicatorOut]:
    indicators = await grading.list_indicators(session, ctx, include_inactive=include_inactive)
    return [IndicatorOut.model_validate(i, from_attributes=True) for i in indicators]


@router.post(
    "/v1/grading/indicators", status_code=status.HTTP_201_CREATED, response_model=IndicatorOut
)
async def create_indicator(body: IndicatorIn, session: SessionDep, ctx: Context) -> IndicatorOut:
    indicator = await grading.create_indicator(session, ctx, body.model_dump())
    return IndicatorOut.model_validate(indicator, from_attributes=True)


@router.patch("/v1/grading/indicators/{indicator_id}", response_model=IndicatorOut)
async def update_indicator(
    indicator_id: uuid.UUID,
    body: IndicatorPatch,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> IndicatorOut:
    indicator = await grading.update_indicator(
        session,
        ctx,
        indicator_id,
        body.changes(),
        expected_version=expected_version(body.version, if_match),
    )
    return IndicatorOut.model_validate(indicator, from_attributes=True)


# --- policy -------------------------------------------------------------------------------


class Recommendations(Strict):
    """The recommendation each grade gets (a total below terminate_below: terminate)."""

    A: Recommendation
    B: Recommendation
    C: Recommendation


class PolicyIn(Strict):
    version: int | None = Field(default=None, ge=1, description="Or send If-Match")
    grade_a_min: Percent = Field(description="A when the total is at least this")
    grade_b_min: Percent = Field(description="B when the total is at least this, else C")
    terminate_below: Percent = Field(
        description="A total below this recommends terminating (0 turns it off)"
    )
    recommendations: Recommendations = Field(description="Recommendation per grade")

    def rules(self) -> scoring.GradingRules:
        return scoring.GradingRules(
            grade_a_min=self.grade_a_min,
            grade_b_min=self.grade_b_min,
            terminate_below=self.terminate_below,
            recommendations={
                Grade.A: self.recommendations.A,
                Grade.B: self.recommendations.B,
                Grade.C: self.recommendations.C,
            },
        )


class PolicyOut(BaseModel):
    grade_a_min: Cents
    grade_b_min: Cents
    terminate_below: Cents
    recommendations: Recommendations
    updated_at: datetime
    updated_by: str | None
    version: int

    @classmethod
    def of(cls, policy: Any) -> "PolicyOut":
        return cls(
            grade_a_min=policy.grade_a_min,
            grade_b_min=policy.grade_b_min,
            terminate_below=policy.terminate_below,
            recommendations=Recommendations(
                A=policy.recommendation_a, B=policy.recommendation_b, C=policy.recommendation_c
            ),
            updated_at=policy.updated_at,
            updated_by=policy.updated_by,
            version=policy.version,
        )


@router.get("/v1/grading/policy", response_model=PolicyOut)
async def get_policy(session: SessionDep, ctx: Context) -> PolicyOut:
    return PolicyOut.of(await grading.get_policy(session, ctx))


@router.put("/v1/grading/policy", response_model=PolicyOut)
async def replace_policy(
    body: PolicyIn, session: SessionDep, ctx: Context, if_match: IfMatch = None
) -> PolicyOut:
    policy = await grading.replace_policy(
        session, ctx, body.rules(), expected_version=expected_version(body.version, if_match)
    )
    return PolicyOut.of(policy)


# --- evaluations --------------------------------------------------------------------------


class ScoreIn(Strict):
    indicator_id: uuid.UUID
    score: Score = Field(description="0..the indicator's max_score, 2 decimal places at most")
    basis: Note | None = Field(default=None, description="得分依据: why this score")
    remark: Note | None = Field(default=None, description="备注")


class EvaluationIn(Strict):
    scores: list[ScoreIn] = Field(min_length=1, max_length=100)
    comment: Comment | None = None
    recommendation: Recommendation | None = Field(
        default=None, description="Overrides the recommendation the rules give (needs a reason)"
    )
    recommendation_reason: Note | None = None
    version: int | None = Field(
        default=None, ge=1, description="Optional: the customer version the scores were based on"
    )

    def form(self) -> grading.EvaluationInput:
        return grading.EvaluationInput(
            scores=[
                grading.ScoreInput(s.indicator_id, s.score, s.basis, s.remark) for s in self.scores
            ],
            comment=self.comment,
            recommendation=self.recommendation,
            recommendation_reason=self.recommendation_reason,
            expected_version=self.version,
        )


class ScoreOut(BaseModel):
    indicator_id: uuid.UUID
    name_zh: str
    name_en: str
    weight: Cents
    max_score: Cents
    score: Cents
    points: Cents = Field(description="This line's contribution to the total")
    basis: str | None
    remark: str | None


class EvaluationOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    total: Cents
    grade: Grade
    previous_grade: Grade | None
    recommendation: Recommendation
    computed_recommendation: Recommendation
    recommendation_reason: str | None
    comment: str | None
    policy: dict[str, Any] = Field(description="Thresholds this evaluation was graded by")
    scores: list[ScoreOut]
    customer_version: int
    evaluated_by: str
    evaluated_at: datetime
    merged_from: uuid.UUID | None = Field(
        description="The customer this evaluation was made for, when that one was merged into "
        "customer_id (customer_version is then that customer's)"
    )

    @classmethod
    def of(cls, view: grading.EvaluationView) -> "EvaluationOut":
        evaluation = view.evaluation
        fields = {f: getattr(evaluation, f) for f in cls.model_fields if hasattr(evaluation, f)}
        return cls(
            **fields,
            scores=[ScoreOut.model_validate(s, from_attributes=True) for s in view.scores],
        )


class EvaluationPage(BaseModel):
    items: list[EvaluationOut]
    total: int
    page: int
    page_size: int


@router.post(
    "/v1/customers/{customer_id}/evaluations",
    status_code=status.HTTP_201_CREATED,
    response_model=EvaluationOut,
)
async def evaluate_customer(
    customer_id: uuid.UUID,
    body: EvaluationIn,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: grading.evaluate_customer(session, ctx, customer_id, body.form()),
        EvaluationOut.of,
    )


@router.get("/v1/customers/{customer_id}/evaluations", response_model=EvaluationPage)
async def list_evaluations(
    customer_id: uuid.UUID,
    session: SessionDep,
    ctx: Context,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> EvaluationPage:
    views, total = await grading.list_evaluations(
        session, ctx, customer_id, page=page, page_size=page_size
    )
    return EvaluationPage(
        items=[EvaluationOut.of(v) for v in views], total=total, page=page, page_size=page_size
    )


@router.get("/v1/grading/evaluations/{evaluation_id}", response_model=EvaluationOut)
async def get_evaluation(
    evaluation_id: uuid.UUID, session: SessionDep, ctx: Context
) -> EvaluationOut:
    return EvaluationOut.of(await grading.get_evaluation(session, ctx, evaluation_id))
