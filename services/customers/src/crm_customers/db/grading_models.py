"""Tables of customer grading (客户关系评估表, seed 003): administered indicators, the grading
policy (one row) and evaluations, which copy what they used so later changes never rewrite
history."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Numeric, String, Uuid
from sqlmodel import Field

from crm_customers.db.registry import CustomersModel
from crm_platform.db import UtcDateTime

SCORE = Numeric(8, 2)
WEIGHT = Numeric(7, 2)
PERCENT = Numeric(5, 2)


def _column(type_: Any, *, nullable: bool = False, **kwargs: Any) -> Any:
    default = None if nullable else ...
    return Field(default=default, sa_column=Column(type_, nullable=nullable, **kwargs))


_indicator_version = Column("version", Integer, nullable=False, default=1)


class GradingIndicator(CustomersModel, table=True):
    """One line of the evaluation form (年采购额, 合作年限, …). Deactivated, never deleted."""

    __tablename__ = "grading_indicator"
    __mapper_args__ = {"version_id_col": _indicator_version}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name_zh: str = _column(String(100), unique=True)
    name_en: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    weight: Decimal = _column(WEIGHT)
    max_score: Decimal = _column(SCORE)
    active: bool = True
    sort_order: int = 0
    created_at: datetime = _column(UtcDateTime())
    updated_at: datetime = _column(UtcDateTime())
    version: int = Field(default=1, sa_column=_indicator_version)


_policy_version = Column("version", Integer, nullable=False, default=1)


class GradingPolicy(CustomersModel, table=True):
    """Grade thresholds and the recommendation per grade; a single row (id 1)."""

    __tablename__ = "grading_policy"
    __mapper_args__ = {"version_id_col": _policy_version}

    id: int = Field(default=1, primary_key=True)
    grade_a_min: Decimal = _column(PERCENT)
    grade_b_min: Decimal = _column(PERCENT)
    terminate_below: Decimal = _column(PERCENT)
    recommendation_a: str = Field(max_length=16)
    recommendation_b: str = Field(max_length=16)
    recommendation_c: str = Field(max_length=16)
    updated_at: datetime = _column(UtcDateTime())
    updated_by: str | None = Field(default=None, max_length=64)
    version: int = Field(default=1, sa_column=_policy_version)


class CustomerEvaluation(CustomersModel, table=True):
    """A filled-in evaluation form: immutable once written."""

    __tablename__ = "customer_evaluation"
    __table_args__ = (Index("ix_customer_evaluation_customer_time", "customer_id", "evaluated_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    customer_id: uuid.UUID = Field(foreign_key="customer.id")
    total: Decimal = _column(PERCENT)
    grade: str = Field(max_length=1)
    previous_grade: str | None = Field(default=None, max_length=1)
    computed_recommendation: str = Field(max_length=16)
    recommendation: str = Field(max_length=16)
    recommendation_reason: str | None = Field(default=None, max_length=1000)
    comment: str | None = Field(default=None, max_length=4000)
    policy: dict[str, Any] = _column(JSON)
    """The thresholds and recommendations (and policy version) this evaluation was graded by."""
    customer_version: int
    """The customer's version once this evaluation had set its grade."""
    evaluated_by: str = Field(max_length=64)
    evaluated_at: datetime = _column(UtcDateTime())
    merged_from: uuid.UUID | None = Field(default=None)
    """The customer this evaluation was made for, when that one was merged into
    ``customer_id`` (its evaluations follow the survivor; the first such customer is kept)."""


class EvaluationScore(CustomersModel, table=True):
    """One indicator's line of an evaluation, with the indicator as it was at the time."""

    __tablename__ = "customer_evaluation_score"

    evaluation_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("customer_evaluation.id"), primary_key=True)
    )
    indicator_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("grading_indicator.id"), primary_key=True)
    )
    position: int
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    weight: Decimal = _column(WEIGHT)
    max_score: Decimal = _column(SCORE)
    score: Decimal = _column(SCORE)
    points: Decimal = _column(PERCENT)
    basis: str | None = Field(default=None, max_length=1000)
    remark: str | None = Field(default=None, max_length=1000)
