"""reminder: a partial index of the pending reminders by due time

The scheduler claims "due, not fired, not cancelled, oldest first". On ``ix_reminder_due_at``
PostgreSQL walked every fired reminder due before now to find the pending ones: at a million
reminders (the benchmark's), 1.5 s per batch of 200, so the 09:00 run of 100,000 reminders
took minutes. ``ix_reminder_pending_due`` holds only the pending ones, ordered as the claim
reads them.

Built ``CONCURRENTLY`` on PostgreSQL (no write lock on a live ``reminder`` table).

Revision ID: 5b1e7c0d9a42
Revises: a88cd359fad5
Create Date: 2026-11-30 09:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1e7c0d9a42"
down_revision: str | None = "a88cd359fad5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_reminder_pending_due"
PENDING = "fired_at IS NULL AND cancelled_at IS NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON reminder (due_at, id) WHERE {PENDING}")
        return
    with op.get_context().autocommit_block():
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON reminder (due_at, id)"
            f" WHERE {PENDING}"
        )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="reminder")
