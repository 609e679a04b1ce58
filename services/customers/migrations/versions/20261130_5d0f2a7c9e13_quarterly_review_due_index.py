"""the quarterly review's worklist served by an index

``GET /customers/review-due`` asks for live customers with ``last_reviewed_at IS NULL OR
last_reviewed_at < <quarter start>``; both branches are ranges of a btree on
``last_reviewed_at`` (NULLs included), partial on live customers like the worklist.

Revision ID: 5d0f2a7c9e13
Revises: 01be10b5133a
Create Date: 2026-11-30 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d0f2a7c9e13"
down_revision: str | None = "01be10b5133a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_live_review_due",
            ["last_reviewed_at", "owner_id"],
            unique=False,
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customer_live_review_due",
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )
