"""Alembic environment of the engagement service (shared wiring in crm_platform.migrations)."""

from sqlmodel import SQLModel

from crm_engagement.db import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from crm_platform.migrations import run_migrations

run_migrations(SQLModel.metadata)
