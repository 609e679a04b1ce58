"""Alembic environment of the notifier service (shared wiring in crm_platform.migrations)."""

from crm_notifier.db.schema import METADATA
from crm_platform.migrations import run_migrations

run_migrations(METADATA)
