"""reminder: indexes of the pending reminders only; fillfactor 90

The scheduler claims "due, not fired, not cancelled, oldest first". On ``ix_reminder_due_at``
PostgreSQL walked every fired reminder due before now to find the pending ones: at a million
reminders (the benchmark's), 1.5 s per batch of 200, so the 09:00 run of 100,000 reminders
took minutes. ``ix_reminder_pending_due`` holds only the pending ones, ordered as the claim
reads them.

Every reminder is updated once (fired or cancelled), and that update is most of the 09:00
run's cost: a new row version plus an entry in every index it is in. The cancellations and
re-pointings by customer and by subject read pending reminders only, so those two indexes
become partial as well (a fired version enters neither), and ``ix_reminder_due_at`` goes
(the claim has its own index; listing reminders goes by recipient). Only a customer merge
reads fired reminders by customer: a sequential scan, once per merge. Fillfactor 90 leaves
room for the fired version on its page (new pages only; existing ones as they are rewritten).

Built ``CONCURRENTLY`` on PostgreSQL (no write lock on a live ``reminder`` table).

Revision ID: 5b1e7c0d9a42
Revises: 5b7e2c9f4d1a
Create Date: 2026-11-30 09:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1e7c0d9a42"
down_revision: str | None = "5b7e2c9f4d1a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "fired_at IS NULL AND cancelled_at IS NULL"
NEW = {
    "ix_reminder_pending_due": "due_at, id",
    "ix_reminder_pending_customer": "customer_id",
    "ix_reminder_pending_subject": "subject_id",
}
OLD = {
    "ix_reminder_due_at": "due_at",
    "ix_reminder_customer_id": "customer_id",
    "ix_reminder_subject_id": "subject_id",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name, columns in NEW.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON reminder ({columns}) WHERE {PENDING}")
        for name in OLD:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    op.execute("ALTER TABLE reminder SET (fillfactor = 90)")
    with op.get_context().autocommit_block():
        for name, columns in NEW.items():
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON reminder ({columns})"
                f" WHERE {PENDING}"
            )
        for name in OLD:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def downgrade() -> None:
    for name, columns in OLD.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON reminder ({columns})")
    for name in NEW:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE reminder RESET (fillfactor)")
