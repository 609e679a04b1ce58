"""approvals: change requests, new-record review decisions, owner transfers

Revision ID: fef5c8fa3abd
Revises: de12bfad342d
Create Date: 2026-11-23 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "fef5c8fa3abd"
down_revision: str | None = "de12bfad342d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_change_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("previous", sa.JSON(), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_change_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_change_request_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_change_request_requested_by"), ["requested_by"], unique=False
        )
        batch_op.create_index(
            "ix_change_request_status_created", ["status", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_change_request_pending",
            ["customer_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "customer_review_decision",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_review_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_review_decision_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "customer_owner_transfer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("from_owner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("to_owner_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("customer_count", sa.Integer(), nullable=False),
        sa.Column("transferred_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer_owner_transfer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_owner_transfer_from_owner_id"), ["from_owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_owner_transfer_to_owner_id"), ["to_owner_id"], unique=False
        )

    # The review queue (review_status pending/rejected) stays cheap at a million customers.
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_review_open",
            ["review_status", "created_at"],
            unique=False,
            postgresql_where=sa.text("review_status <> 'approved'"),
            sqlite_where=sa.text("review_status <> 'approved'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customer_review_open",
            postgresql_where=sa.text("review_status <> 'approved'"),
            sqlite_where=sa.text("review_status <> 'approved'"),
        )
    with op.batch_alter_table("customer_owner_transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_owner_transfer_to_owner_id"))
        batch_op.drop_index(batch_op.f("ix_customer_owner_transfer_from_owner_id"))
    op.drop_table("customer_owner_transfer")
    with op.batch_alter_table("customer_review_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_review_decision_customer_id"))
    op.drop_table("customer_review_decision")
    with op.batch_alter_table("customer_change_request", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_change_request_pending",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index("ix_change_request_status_created")
        batch_op.drop_index(batch_op.f("ix_customer_change_request_requested_by"))
        batch_op.drop_index(batch_op.f("ix_customer_change_request_customer_id"))
    op.drop_table("customer_change_request")
