"""customer search indexes: name bigrams, live owner lists, code prefixes

Revision ID: 91624e7b90fa
Revises: de12bfad342d
Create Date: 2026-11-23 19:40:00.000000

Found with bench/customers_search.py at 1,000,000 customers (EXPLAIN ANALYZE):
- a 2-character name term (a Chinese trade name) has no trigram: every search scanned the
  table (~300 ms). ``customer_name_bigrams(name)`` + GIN serves it (db/search_sql.py);
- the owner + lifecycle list of live customers counted its matches through the heap (one page
  per row, up to 130 ms for a big owner); the partial index answers page and count from the
  index alone (index-only scan);
- the quick search's ``code LIKE 'ABC2024%'`` cannot use the unique index under a non-C
  collation; ``varchar_pattern_ops`` can;
- the planner misjudged name searches: a 3-character term matching 9,000 customers was
  estimated at 97 rows from the default 100-entry histogram (a larger sample fixes it), and
  with ``random_page_cost`` 4 (spinning disks) it walked 100,000 rows in date order rather than
  fetch 1,500 matches from the bigram index. This database's pages are in memory or on SSD, so
  its cost is set to 1.1 (the usual SSD value). And parallel workers made that walk read 3x
  the rows it needed (each worker runs ahead of the ordered merge) while taking the cores other
  requests need: list requests are short, one core each. Both are database settings, applied
  to new sessions; without the privilege to set them the migration only says so.
PostgreSQL only except the partial index (SQLite stays correct, only slower).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "91624e7b90fa"
down_revision: str | None = "de12bfad342d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLANNER_SETTINGS = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database());
    EXECUTE format('ALTER DATABASE %I SET max_parallel_workers_per_gather = 0', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'planner settings left as they are: not the owner of this database';
END
$$
"""
RESET_PLANNER_SETTINGS = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET random_page_cost', current_database());
    EXECUTE format('ALTER DATABASE %I RESET max_parallel_workers_per_gather', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END
$$
"""
NAME_BIGRAMS_FUNCTION = """
CREATE FUNCTION customer_name_bigrams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(
    SELECT substr(lower(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i
)
"""


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_live_owner_lifecycle",
            ["owner_id", "lifecycle", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NAME_BIGRAMS_FUNCTION)
    op.execute(
        "CREATE INDEX ix_customer_name_bigrams ON customer USING gin (customer_name_bigrams(name))"
    )
    op.create_index(
        "ix_customer_code_pattern",
        "customer",
        ["code"],
        unique=False,
        postgresql_ops={"code": "varchar_pattern_ops"},
    )
    op.execute("ALTER TABLE customer ALTER COLUMN name SET STATISTICS 1000")
    op.execute(PLANNER_SETTINGS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(RESET_PLANNER_SETTINGS)
        op.execute("ALTER TABLE customer ALTER COLUMN name SET STATISTICS -1")
        op.drop_index("ix_customer_code_pattern", table_name="customer")
        op.execute("DROP INDEX ix_customer_name_bigrams")
        op.execute("DROP FUNCTION customer_name_bigrams(text)")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_customer_live_owner_lifecycle",
            postgresql_where=sa.text("archived_at IS NULL"),
            sqlite_where=sa.text("archived_at IS NULL"),
        )
