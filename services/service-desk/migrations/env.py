"""Alembic environment of the service-desk service (shared wiring in crm_platform.migrations)."""

from sqlmodel import SQLModel

from crm_platform.migrations import run_migrations
from crm_service_desk.db import models  # noqa: F401  (registers the tables on SQLModel.metadata)

run_migrations(SQLModel.metadata)
