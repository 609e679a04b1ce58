"""merge customer feature branches

Revision ID: c9eb499a8817
Revises: 8cda3f1d7df7, 91624e7b90fa, c31a84b2e91e, fef5c8fa3abd
Create Date: 2026-11-23 19:54:07.817426
"""

from collections.abc import Sequence

revision: str = "c9eb499a8817"
down_revision: str | None = ("8cda3f1d7df7", "91624e7b90fa", "c31a84b2e91e", "fef5c8fa3abd")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
