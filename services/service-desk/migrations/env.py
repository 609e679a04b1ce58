"""Alembic environment of the service-desk service (shared wiring in crm_platform.migrations)."""

from crm_platform.migrations import run_migrations
from crm_service_desk.db.schema import METADATA

run_migrations(METADATA)
