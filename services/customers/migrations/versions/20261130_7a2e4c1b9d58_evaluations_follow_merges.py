"""grading evaluations follow a merged customer into the survivor

A merge moves the source's evaluations to the target; ``merged_from`` keeps which customer
each was made for.

Revision ID: 7a2e4c1b9d58
Revises: 5d0f2a7c9e13
Create Date: 2026-11-30 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7a2e4c1b9d58"
down_revision: str | None = "5d0f2a7c9e13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_evaluation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_from", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer_evaluation", schema=None) as batch_op:
        batch_op.drop_column("merged_from")
