"""core names for the similar-name check, filled in batches without locking the table

The similar-name check of every create compares core names (``crm_customers.domain.names``)
under their own trigram index. On a large table nothing here holds a lock for long:

1. ``name_core`` is added nullable (a catalogue change, no rewrite);
2. it is filled in batches of ``BATCH`` rows in primary-key order, each batch its own
   autocommitted statement, so a row is locked only for its own batch's update and requests
   go on meanwhile. A batch writes a core only where the name is still the one it read, so a
   rename committed in between (which sets its own core) is never overwritten;
3. the index is built ``CONCURRENTLY`` (no write lock), without GIN's pending list like the
   other name indexes;
4. a last pass (at most three rounds) fills rows created meanwhile by an older version of
   the service. A row that version creates after it keeps no core until its next rename,
   and only its exact normalised name warns of it: run migrations before starting the new
   version, as ``make migrate`` and the deployment do.

At a million customers the whole migration took 57 s on this 2-core machine while a writer
inserted a customer every 20 ms: 2,223 inserts meanwhile, p99 21.9 ms, slowest 80 ms
(``bench/customers_search.py --backfill``). On SQLite (one machine, small tables) it is one
pass in the migration's transaction and a btree for equal cores.

Revision ID: c2f7a9d4e6b1
Revises: e91d3a5c7f24
Create Date: 2026-11-30 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_customers.domain.names import core_name

revision: str = "c2f7a9d4e6b1"
down_revision: str | None = "e91d3a5c7f24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
LEFT_OVER_ROUNDS = 3
INDEX = "ix_customer_name_core_trgm"

_FIRST_BATCH = sa.text("SELECT id, name FROM customer ORDER BY id LIMIT :n")
_NEXT_BATCH = sa.text("SELECT id, name FROM customer WHERE id > :after ORDER BY id LIMIT :n")
_LEFT_OVER = sa.text("SELECT id, name FROM customer WHERE name_core IS NULL LIMIT :n")
_FILL_PG = sa.text(
    """
    UPDATE customer SET name_core = v.core
    FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[]), CAST(:cores AS text[]))
         AS v(id, name, core)
    WHERE customer.id = v.id AND customer.name = v.name
    """
)
_FILL_ONE = sa.text("UPDATE customer SET name_core = :core WHERE id = :id AND name = :name")


def _fill(connection: sa.Connection, rows: Sequence[sa.Row]) -> None:
    cores = [core_name(row.name) for row in rows]
    if connection.dialect.name == "postgresql":
        connection.execute(
            _FILL_PG,
            {"ids": [r.id for r in rows], "names": [r.name for r in rows], "cores": cores},
        )
    else:
        connection.execute(
            _FILL_ONE,
            [{"id": r.id, "name": r.name, "core": c} for r, c in zip(rows, cores, strict=True)],
        )


def _fill_in_key_order(connection: sa.Connection) -> None:
    rows = connection.execute(_FIRST_BATCH, {"n": BATCH}).all()
    while rows:
        _fill(connection, rows)
        rows = connection.execute(_NEXT_BATCH, {"after": rows[-1].id, "n": BATCH}).all()


def _fill_left_over(connection: sa.Connection) -> None:
    """Rows an older version of the service created meanwhile: a few rounds, not "until none
    is left", which never ends while that version is still writing (seen in the bench)."""
    for _ in range(LEFT_OVER_ROUNDS):
        rows = connection.execute(_LEFT_OVER, {"n": BATCH}).all()
        if not rows:
            break
        _fill(connection, rows)


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_core", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        _fill_in_key_order(op.get_bind())
        op.create_index(INDEX, "customer", ["name_core"], unique=False)
        return
    with op.get_context().autocommit_block():
        _fill_in_key_order(op.get_bind())
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON customer "
            "USING gin (name_core gin_trgm_ops) WITH (fastupdate = off)"
        )
        # Without statistics on the new column the planner guesses 1% of rows similar, and
        # with the check's LIMIT a scan of the whole table looks cheaper than the index: at a
        # million rows 1.1 s a check instead of about 1 ms, until autovacuum's next analyse.
        # ANALYZE takes no lock that blocks reads or writes.
        op.execute("ANALYZE customer")
        _fill_left_over(op.get_bind())  # last: the index build and ANALYZE took longest


def downgrade() -> None:
    op.drop_index(INDEX, table_name="customer")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_column("name_core")
