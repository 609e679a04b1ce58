"""imports count the rows they warn of (a name or contact mobile like an existing customer's)

Revision ID: e91d3a5c7f24
Revises: b4c8e2f61a07
Create Date: 2026-11-30 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e91d3a5c7f24"
down_revision: str | None = "b4c8e2f61a07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer_import", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warned_rows", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_import", schema=None) as batch_op:
        batch_op.drop_column("warned_rows")
