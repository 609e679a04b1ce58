"""opportunities, stage history and serials

The sales pipeline (SPEC §2): ``opportunity`` (numbered per customer from
``opportunity_serial``) and ``opportunity_stage_change`` (every stage move with its progress
note). The platform's ``idempotency_record`` comes from ``23206e8a2ead``.

Revision ID: a88cd359fad5
Revises: 23206e8a2ead
Create Date: 2026-11-30 08:37:58.283067
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "a88cd359fad5"
down_revision: str | None = "23206e8a2ead"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opportunity",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("expected_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("expected_close_on", sa.Date(), nullable=True),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("competitors", sa.JSON(), nullable=False),
        sa.Column("strengths", sa.Text(), nullable=True),
        sa.Column("weaknesses", sa.Text(), nullable=True),
        sa.Column("owner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("actual_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("contract_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lost_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("lost_detail", sa.Text(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("customer_id", "serial", name="uq_opportunity_customer_serial"),
    )
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index("ix_opportunity_closed_at", ["closed_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_opportunity_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_opportunity_owner_created", ["owner_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_opportunity_stage_close_on", ["stage", "expected_close_on"], unique=False
        )

    op.create_table(
        "opportunity_serial",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.create_table(
        "opportunity_stage_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("actual_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("contract_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("lost_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("lost_detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("opportunity_stage_change", schema=None) as batch_op:
        batch_op.create_index(
            "ix_opportunity_stage_change_opp", ["opportunity_id", "changed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity_stage_change", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunity_stage_change_opp")

    op.drop_table("opportunity_stage_change")
    op.drop_table("opportunity_serial")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunity_stage_close_on")
        batch_op.drop_index("ix_opportunity_owner_created")
        batch_op.drop_index(batch_op.f("ix_opportunity_customer_id"))
        batch_op.drop_index("ix_opportunity_closed_at")

    op.drop_table("opportunity")
