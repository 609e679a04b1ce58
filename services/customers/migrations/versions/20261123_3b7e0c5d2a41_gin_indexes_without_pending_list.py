"""name GIN indexes without a pending list; drop write-only customer indexes

Revision ID: 3b7e0c5d2a41
Revises: c9eb499a8817
Create Date: 2026-11-23 21:30:00.000000

Found with bench/event_path.py (customer creations at a few hundred per second):
- every create runs the similar-name check (``name % :name`` on ``ix_customer_name_trgm``).
  With GIN's default ``fastupdate`` new entries sit in an unsorted pending list of up to 4 MB
  that every query scans linearly, so the check cost grew with each insert since the last
  flush (20 ms at 5,000 pending rows against 0.3 ms once flushed). With ``fastupdate`` off an
  insert updates the index in place (a few dozen entry updates) and a query never scans more
  than its own keys' posting lists. The bigram index that serves 2-character name searches
  gets the same treatment: search latency must not depend on how recently customers were
  created.
- four btree indexes were only ever written: ``lifecycle``, ``activity_status`` and
  ``archived_at`` have a handful of values each (the planner never picks them at a million
  rows; lists filter them inside the owner index or a name index), and
  ``ix_customer_owner_lifecycle`` is covered by ``ix_customer_owner_id`` for all customers
  and by ``ix_customer_live_owner_lifecycle`` for live ones. Each was one more index entry
  per insert and per update.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b7e0c5d2a41"
down_revision: str | None = "c9eb499a8817"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIN_INDEXES = ("ix_customer_name_trgm", "ix_customer_name_bigrams")
UNUSED_INDEXES = {
    "ix_customer_lifecycle": ["lifecycle"],
    "ix_customer_activity_status": ["activity_status"],
    "ix_customer_archived_at": ["archived_at"],
    "ix_customer_owner_lifecycle": ["owner_id", "lifecycle", "created_at"],
}


def upgrade() -> None:
    for name in UNUSED_INDEXES:
        op.drop_index(name, table_name="customer")
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in GIN_INDEXES:
        op.execute(f"ALTER INDEX {name} SET (fastupdate = off)")
        # Entries already pending stay in the list until flushed: flush them now.
        op.execute(
            sa.text("SELECT gin_clean_pending_list(CAST(:name AS regclass))").bindparams(name=name)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in GIN_INDEXES:
            op.execute(f"ALTER INDEX {name} RESET (fastupdate)")
    for name, columns in UNUSED_INDEXES.items():
        op.create_index(name, "customer", columns)
