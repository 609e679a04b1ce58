"""partners on the bus: their queue and broker user, provisioned and revoked by admins

One row per provisioning; at most one active per partner (a partial unique index), revoked
ones kept as history. The broker user's password is not stored.

Revision ID: f5f4050a827a
Revises: 601bf987ce5c
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "f5f4050a827a"
down_revision: str | None = "601bf987ce5c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_bus_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("partner", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("queue", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vhost", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("exchange", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("patterns", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queue_deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("partner_bus_subscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_bus_subscription_partner"), ["partner"], unique=False
        )
        batch_op.create_index(
            "uq_partner_bus_subscription_active",
            ["partner"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("partner_bus_subscription", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_partner_bus_subscription_active",
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_partner_bus_subscription_partner"))

    op.drop_table("partner_bus_subscription")
