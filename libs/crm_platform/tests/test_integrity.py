"""Constraint violations are told apart by what the database reports, on PostgreSQL and SQLite,
and the HTTP edge answers each kind by its own rule (never "duplicate" for a missing value)."""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import create_engine
from crm_platform.http.problems import integrity_problem
from crm_platform.integrity import Violation, is_unique_violation, refused_value, violation_of

metadata = MetaData()
parent = Table("parent", metadata, Column("id", Integer, primary_key=True))
child = Table(
    "child",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("parent_id", Integer, ForeignKey("parent.id"), nullable=True),
    Column("qty", Integer, CheckConstraint("qty > 0", name="ck_child_qty_positive")),
)
pair = Table(
    "pair",
    metadata,
    Column("a", String(10), primary_key=True),
    Column("b", String(10), primary_key=True),
)


@pytest.fixture(params=["postgresql", "sqlite"])
async def engine(request, database_factory, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "postgresql":
        url = await database_factory("integrity")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'integrity.db'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(parent.insert().values(id=1))
        await connection.execute(child.insert().values(id=1, name="taken", parent_id=1, qty=1))
        await connection.execute(pair.insert().values(a="x", b="y"))
    yield engine
    await engine.dispose()


async def violation(engine: AsyncEngine, table: Table, **values: Any) -> IntegrityError:
    with pytest.raises(IntegrityError) as caught:
        async with engine.begin() as connection:
            await connection.execute(table.insert().values(**values))
    return caught.value


async def test_each_kind_of_violation_is_named_with_its_table_and_columns(engine) -> None:
    unique = await violation(engine, child, id=2, name="taken", qty=1)
    assert violation_of(unique).kind == "unique"
    assert (violation_of(unique).table, violation_of(unique).columns) == ("child", ("name",))
    assert is_unique_violation(unique, "child", "name")
    assert not is_unique_violation(unique, "child", "id")

    missing = await violation(engine, child, id=2, name=None, qty=1)
    assert violation_of(missing).kind == "not_null"
    assert (violation_of(missing).table, violation_of(missing).columns) == ("child", ("name",))
    assert not is_unique_violation(missing, "child", "name")

    composite = await violation(engine, pair, a="x", b="y")
    assert is_unique_violation(composite, "pair", "a", "b")

    dangling = await violation(engine, child, id=3, name="orphan", parent_id=99, qty=1)
    assert violation_of(dangling).kind == "foreign_key"

    negative = await violation(engine, child, id=4, name="negative", qty=-1)
    assert violation_of(negative).kind == "check"
    assert violation_of(negative).constraint is not None
    assert "ck_child_qty_positive" in (violation_of(negative).constraint or "")


@pytest.mark.parametrize(
    ("found", "status", "slug", "fields"),
    [
        (Violation("unique", "tag", ("name",), "tag_name_key"), 409, "duplicate-value", ["name"]),
        (Violation("not_null", "industry", ("active",)), 422, "constraint-violation", ["active"]),
        (Violation("check", constraint="ck_qty"), 422, "constraint-violation", ["ck_qty"]),
        (Violation("foreign_key", "contact", ("customer_id",)), 409, "reference-conflict", []),
        (Violation("unknown"), 409, "constraint-violation", []),
    ],
)
def test_the_edge_answers_each_kind_by_its_rule(
    found: Violation, status: int, slug: str, fields: list[str]
) -> None:
    response = integrity_problem(found, instance="/v1/x")
    body = json.loads(response.body)
    assert (response.status_code, body["type"]) == (status, f"urn:crm:problem:{slug}")
    assert [e["field"] for e in body.get("errors", [])] == fields
    assert "already exists" not in body["detail"] or found.kind == "unique"


async def test_a_value_postgresql_cannot_store_is_told_apart_from_the_codes_own_failure(
    engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores NUL characters and refuses big integers in the driver")
    for values, reason in (
        ({"id": 5, "name": "nul\x00byte", "qty": 1}, "NUL"),
        ({"id": 2**40, "name": "big", "qty": 1}, "cannot be stored"),
    ):
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as connection:
                await connection.execute(child.insert().values(**values))
        assert reason in (refused_value(caught.value) or ""), caught.value
    with pytest.raises(DBAPIError) as caught:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1 / 0"))
    assert refused_value(caught.value) is None  # division by zero is the code's fault
