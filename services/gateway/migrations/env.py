"""Alembic environment of the gateway service (shared wiring in crm_platform.migrations)."""

from crm_gateway.db.schema import METADATA
from crm_platform.migrations import run_migrations

run_migrations(METADATA)
