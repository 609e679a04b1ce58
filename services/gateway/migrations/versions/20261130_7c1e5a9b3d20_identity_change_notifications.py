"""notify gateway processes of every change to users, sessions and API keys

Each gateway process remembers what every authenticated request reads (a user's active flag
and roles, a session's revocation, an API key and its owner) and forgets it when told:
``crm_gateway.db.identity_reads``. These triggers tell it, from the database itself, so that
no code path that changes one of these rows can forget to: every update or delete sends
``NOTIFY crm_identity_changed, '<user id>'``, delivered when its transaction commits.
PostgreSQL only (on SQLite nothing is remembered).

Revision ID: 7c1e5a9b3d20
Revises: 5459892dd10a
Create Date: 2026-11-30 08:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c1e5a9b3d20"
down_revision: str | None = "5459892dd10a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the column naming the user whose requests the row decides
TABLES = {"app_user": "id", "user_session": "user_id", "api_key": "owner_id"}
FUNCTION = """
CREATE OR REPLACE FUNCTION crm_notify_identity_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify(
        'crm_identity_changed',
        coalesce(to_jsonb(NEW), to_jsonb(OLD)) ->> TG_ARGV[0]
    );
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table, column in TABLES.items():
        op.execute(
            f"CREATE TRIGGER {table}_identity_changed AFTER UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION crm_notify_identity_changed('{column}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_identity_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS crm_notify_identity_changed()")
