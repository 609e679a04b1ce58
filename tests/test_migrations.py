"""Each service's migrations build exactly the schema its models describe, on PostgreSQL."""

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime
from sqlalchemy.ext.asyncio import create_async_engine

from crm_platform.db import UtcDateTime

ROOT = Path(__file__).resolve().parents[1]
SERVICES = {
    "gateway": "crm_gateway",
    "customers": "crm_customers",
    "engagement": "crm_engagement",
    "service-desk": "crm_service_desk",
    "notifier": "crm_notifier",
}
# Indexes SQLAlchemy cannot describe in a model (expression or operator-class indexes that
# exist only for PostgreSQL's planner); see the migration that creates each.
DATABASE_ONLY_INDEXES = {"ix_customer_name_bigrams", "ix_customer_code_pattern"}


def _significant(diff: object) -> bool:
    if isinstance(diff, tuple) and diff and diff[0] in ("remove_index", "add_index"):
        return diff[1].name not in DATABASE_ONLY_INDEXES
    return True


@pytest.mark.parametrize("service", list(SERVICES))
async def test_migrations_match_the_models(service: str, database_factory) -> None:
    module = __import__(f"{SERVICES[service]}.db.schema", fromlist=["METADATA"])
    url = await database_factory(
        f"drift_{service}", migrations=ROOT / "services" / service / "migrations"
    )
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            diffs = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), module.METADATA
                )
            )
    finally:
        await engine.dispose()
    assert [d for d in diffs if _significant(d)] == []


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_datetime_column_reads_back_aware_utc(service: str) -> None:
    """A plain ``DateTime`` column reads back naive on SQLite (a list said
    ``2026-11-30T03:44:04.489832`` where the create had said ``…Z``): each must be
    ``UtcDateTime``."""
    module = __import__(f"{SERVICES[service]}.db.schema", fromlist=["METADATA"])
    metadatas = module.METADATA if isinstance(module.METADATA, list) else [module.METADATA]
    columns = [c for m in metadatas for t in m.tables.values() for c in t.columns]
    naive = [
        f"{c.table.name}.{c.name}"
        for c in columns
        if isinstance(c.type, DateTime) and not isinstance(c.type, UtcDateTime)
    ]
    assert naive == []
    assert any(isinstance(c.type, UtcDateTime) for c in columns)
