"""Alembic environment of the customers service (shared wiring in crm_platform.migrations)."""

from crm_customers.db.schema import METADATA
from crm_platform.migrations import run_migrations

run_migrations(METADATA)
