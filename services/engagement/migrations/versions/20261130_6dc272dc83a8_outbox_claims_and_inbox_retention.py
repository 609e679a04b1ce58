"""outbox rows claimed by one relay at a time, inbox pruned by age

Sweeps claim rows (``claimed_until``) in a short transaction and publish outside it; a row
the broker refused waits out its back-off there. The inbox's retention deletes by ``received_at``.

Revision ID: 6dc272dc83a8
Revises: 0c997e30f448
Create Date: 2026-11-30 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6dc272dc83a8"
down_revision: str | None = "0c997e30f448"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_message_received_at", ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_message_received_at")

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
