"""follow-up analytics indexes

The follow-up analytics (``GET /v1/analytics/follow-ups``) select a period of
``occurred_on`` days, for everyone or for one follower: ``ix_followup_occurred_on`` serves the
first, ``ix_followup_follower_occurred`` (follower_id, occurred_on) the second and replaces
``ix_followup_follower_id``, its prefix (so logging a follow-up maintains one index more, not
two).

Revision ID: 5b7e2c9f4d1a
Revises: a88cd359fad5
Create Date: 2026-11-30 09:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b7e2c9f4d1a"
down_revision: str | None = "a88cd359fad5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.create_index("ix_followup_occurred_on", ["occurred_on"], unique=False)
        batch_op.create_index(
            "ix_followup_follower_occurred", ["follower_id", "occurred_on"], unique=False
        )
        batch_op.drop_index("ix_followup_follower_id")


def downgrade() -> None:
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.create_index("ix_followup_follower_id", ["follower_id"], unique=False)
        batch_op.drop_index("ix_followup_follower_occurred")
        batch_op.drop_index("ix_followup_occurred_on")
