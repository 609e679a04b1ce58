"""customer grading: indicators, policy, evaluations (客户关系评估表, seed 003)

Revision ID: c31a84b2e91e
Revises: de12bfad342d
Create Date: 2026-11-23 21:00:00

Written by hand. Seeds the default indicators (weights sum to 100) and the grading policy:
A >= 85, B >= 60, else C; A maintain, B improve, C improve; a total below 40 recommends
terminating the relationship.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c31a84b2e91e"
down_revision: str | None = "de12bfad342d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


INDICATORS = [
    # (slug for a stable id, name_zh, name_en, weight, description) — seed 003 客户状况记录表 /
    # 客户关系评估表 and seed 000 §3.2 (annual spend, years and depth of cooperation).
    (
        "annual_spend",
        "年采购额",
        "Annual spend",
        25,
        "Purchases over the last 12 months (月均购买额, 最高购买金额) against what a top "
        "customer buys; 100 = at or above the top-customer level.",
    ),
    (
        "years_of_cooperation",
        "合作年限",
        "Years of cooperation",
        15,
        "How long the customer has been buying from us; 100 = five years or more.",
    ),
    (
        "depth_of_cooperation",
        "合作深度",
        "Depth of cooperation",
        20,
        "Range of products bought, framework agreements, joint projects, referrals made.",
    ),
    (
        "satisfaction",
        "客户满意度",
        "Customer satisfaction",
        15,
        "From satisfaction surveys, complaints and return visits (回访).",
    ),
    (
        "development_potential",
        "发展潜力",
        "Development potential",
        15,
        "客户关系发展潜力: the customer's growth and the room for more business with us.",
    ),
    (
        "payment_reliability",
        "付款信用",
        "Payment reliability",
        10,
        "付款状况 and 付款态度: pays in full and on time.",
    ),
]
INDICATOR_NAMESPACE = uuid.UUID("6f1d3c2e-0b7a-4d1e-9a51-3f1c7e0b2a10")


def upgrade() -> None:
    op.create_table(
        "grading_indicator",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("weight", sa.Numeric(7, 2), nullable=False),
        sa.Column("max_score", sa.Numeric(8, 2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_zh"),
    )
    op.create_table(
        "grading_policy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("grade_a_min", sa.Numeric(5, 2), nullable=False),
        sa.Column("grade_b_min", sa.Numeric(5, 2), nullable=False),
        sa.Column("terminate_below", sa.Numeric(5, 2), nullable=False),
        sa.Column("recommendation_a", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recommendation_b", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recommendation_c", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "customer_evaluation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.Numeric(5, 2), nullable=False),
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("previous_grade", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
        sa.Column(
            "computed_recommendation", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.Column("recommendation", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "recommendation_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True
        ),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("customer_version", sa.Integer(), nullable=False),
        sa.Column("evaluated_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_evaluation", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_evaluation_customer_time", ["customer_id", "evaluated_at"], unique=False
        )
    op.create_table(
        "customer_evaluation_score",
        sa.Column("evaluation_id", sa.Uuid(), nullable=False),
        sa.Column("indicator_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("weight", sa.Numeric(7, 2), nullable=False),
        sa.Column("max_score", sa.Numeric(8, 2), nullable=False),
        sa.Column("score", sa.Numeric(8, 2), nullable=False),
        sa.Column("points", sa.Numeric(5, 2), nullable=False),
        sa.Column("basis", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("remark", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["evaluation_id"], ["customer_evaluation.id"]),
        sa.ForeignKeyConstraint(["indicator_id"], ["grading_indicator.id"]),
        sa.PrimaryKeyConstraint("evaluation_id", "indicator_id"),
    )

    now = datetime.now(UTC)
    indicator = sa.table(
        "grading_indicator",
        sa.column("id", sa.Uuid),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("description", sa.String),
        sa.column("weight", sa.Numeric),
        sa.column("max_score", sa.Numeric),
        sa.column("active", sa.Boolean),
        sa.column("sort_order", sa.Integer),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer),
    )
    op.bulk_insert(
        indicator,
        [
            {
                "id": uuid.uuid5(INDICATOR_NAMESPACE, slug),
                "name_zh": zh,
                "name_en": en,
                "description": description,
                "weight": weight,
                "max_score": 100,
                "active": True,
                "sort_order": n,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for n, (slug, zh, en, weight, description) in enumerate(INDICATORS)
        ],
    )
    policy = sa.table(
        "grading_policy",
        sa.column("id", sa.Integer),
        sa.column("grade_a_min", sa.Numeric),
        sa.column("grade_b_min", sa.Numeric),
        sa.column("terminate_below", sa.Numeric),
        sa.column("recommendation_a", sa.String),
        sa.column("recommendation_b", sa.String),
        sa.column("recommendation_c", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer),
    )
    op.bulk_insert(
        policy,
        [
            {
                "id": 1,
                "grade_a_min": 85,
                "grade_b_min": 60,
                "terminate_below": 40,
                "recommendation_a": "maintain",
                "recommendation_b": "improve",
                "recommendation_c": "improve",
                "updated_at": now,
                "version": 1,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("customer_evaluation_score")
    with op.batch_alter_table("customer_evaluation", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_evaluation_customer_time")
    op.drop_table("customer_evaluation")
    op.drop_table("grading_policy")
    op.drop_table("grading_indicator")
