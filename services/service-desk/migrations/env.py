"""Alembic environment of the service-desk service (shared wiring in crm_platform.migrations)."""

from crm_platform.migrations import run_migrations
from crm_service_desk.db import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from sqlmodel import SQLModel

run_migrations(SQLModel.metadata)
