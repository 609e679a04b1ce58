"""Alembic environment of the engagement service (shared wiring in crm_platform.migrations)."""

from crm_engagement.db import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from crm_platform.migrations import run_migrations
from sqlmodel import SQLModel

run_migrations(SQLModel.metadata)
