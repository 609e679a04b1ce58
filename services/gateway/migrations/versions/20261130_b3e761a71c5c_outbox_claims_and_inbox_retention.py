"""outbox rows claimed by one relay at a time

Sweeps claim rows (``claimed_until``) in a short transaction and publish outside it; a row
the broker refused waits out its back-off there.

Revision ID: b3e761a71c5c
Revises: d92b7728bb9e
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3e761a71c5c"
down_revision: str | None = "d92b7728bb9e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
