"""Alembic environment of the engagement service (shared wiring in crm_platform.migrations)."""

from crm_engagement.db.schema import METADATA
from crm_platform.migrations import run_migrations

run_migrations(METADATA)
