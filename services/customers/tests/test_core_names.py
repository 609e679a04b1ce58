"""Core names: what the similar-name check compares, and the migration that fills them."""

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from crm_customers.__main__ import MIGRATIONS_DIR
from crm_customers.domain.names import core_name
from crm_customers.settings import CustomersSettings
from crm_platform.migrations import upgrade

from .conftest import app_client
from .factories import enterprise_body

CORES = [
    # a leading province, city or district, and a trailing company form, go
    ("杭州星辰网络科技有限公司", "星辰网络科技"),
    ("浙江省杭州市西湖区星辰网络科技有限公司", "星辰网络科技"),
    ("上海星辰科技股份有限公司", "星辰科技"),
    ("北京华信集团有限公司", "华信"),
    ("广西壮族自治区南宁市星辰贸易有限公司", "星辰贸易"),
    ("内蒙古伊利实业集团股份有限公司", "伊利实业"),
    ("昆山星辰精密机械有限公司", "星辰精密机械"),  # a county-level city, without 市
    # a region in brackets, in either width, and (中国)
    ("星辰（上海）科技有限公司", "星辰科技"),  # noqa: RUF001
    ("星辰(上海)科技有限公司", "星辰科技"),
    ("阿里巴巴（中国）有限公司", "阿里巴巴"),  # noqa: RUF001
    # a branch loses 分公司 and its city
    ("星辰科技有限公司杭州分公司", "星辰科技"),
    # width, case, spaces and punctuation folded; English company forms
    ("Acme Co., Ltd.", "acme"),
    ("ＡＣＭＥ  Limited", "acme"),  # noqa: RUF001
    # what stays: districts and prefectures without their suffix are trade names too
    ("西湖龙井茶业有限公司", "西湖龙井茶业"),
    ("阿里山茶业有限公司", "阿里山茶业"),
    ("延边朝鲜族自治州星辰有限公司", "星辰"),
    # never fewer than two characters: a name that is all region and form stays whole
    ("上海有限公司", "上海"),
    ("上海市", "上海市"),
    ("张伟", "张伟"),
    ("王", "王"),
]


@pytest.mark.parametrize(("name", "core"), CORES)
def test_the_core_name_is_what_tells_companies_apart(name: str, core: str) -> None:
    assert core_name(name) == core


SIMILAR = [
    # the same company under another region or company form
    ("上海星辰科技有限公司", "星辰科技股份有限公司", True),
    ("上海星辰科技有限公司", "北京星辰科技集团有限公司", True),
    ("星辰（上海）科技有限公司", "上海星辰科技有限公司", True),  # noqa: RUF001
    # what only shares a city and a company form is not
    ("上海星辰科技有限公司", "上海华信贸易有限公司", False),
    ("上海星辰科技有限公司", "上海云帆科技有限公司", False),
]


@pytest.fixture(params=["postgresql", "sqlite"])
async def either_database(request, database_factory, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return await database_factory("customers_cores", migrations=MIGRATIONS_DIR)
    url = f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
    return url


@pytest.mark.parametrize(("existing", "new", "warned"), SIMILAR)
async def test_a_create_warns_of_a_similar_core_name_on_either_database(
    either_database: str, amqp_url: str, token_for, existing: str, new: str, warned: bool
) -> None:
    settings = CustomersSettings(
        database_url=either_database,
        amqp_url=amqp_url,
        relay_enabled=False,
        consumer_enabled=False,
    )
    async with app_client(settings, token_for()) as client:
        first = await client.post("/v1/customers", json=enterprise_body(name=existing))
        assert first.status_code == 201, first.text
        second = await client.post(
            "/v1/customers", json=enterprise_body(name=new, allow_duplicate=False)
        )
    if warned:
        assert second.status_code == 409, second.text
        assert second.json()["candidates"][0] == {
            "id": first.json()["id"],
            "code": first.json()["code"],
            "name": existing,
            "reason": "similar_name",
        }
    else:
        assert second.status_code == 201, second.text


async def test_a_rename_recomputes_the_core_name(client) -> None:
    created = await client.post("/v1/customers", json=enterprise_body(name="杭州星辰科技有限公司"))
    renamed = await client.patch(
        f"/v1/customers/{created.json()['id']}", json={"version": 1, "name": "杭州云帆物流有限公司"}
    )
    assert renamed.status_code == 200, renamed.text
    again = await client.post(
        "/v1/customers", json=enterprise_body(name="云帆物流有限公司", allow_duplicate=False)
    )
    assert again.status_code == 409
    assert again.json()["candidates"][0]["id"] == created.json()["id"]


BEFORE_CORE_NAMES = "e91d3a5c7f24"
_INSERT_ROWS_PG = sa.text(
    """
    INSERT INTO customer (id, code, kind, name, name_normalized, industry, lifecycle,
        activity_status, owner_id, created_by, review_status, created_at, updated_at, version)
    SELECT gen_random_uuid(), 'OLD' || n, 'enterprise', '杭州星辰' || n || '号科技有限公司',
        '杭州星辰' || n || '号科技有限公司', 'it', 'won', 'active', 'rep', 'rep', 'approved',
        now(), now(), 1
    FROM generate_series(1, :rows) AS n
    """
)


async def test_the_migration_fills_every_existing_row_in_batches_and_indexes_them(
    database_factory,
) -> None:
    """12,001 rows: three batches of 5,000 and a last short one."""
    url = await database_factory("customers_core_backfill")
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url, BEFORE_CORE_NAMES)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(_INSERT_ROWS_PG, {"rows": 12_001})
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.text("SELECT name, name_core FROM customer"))).all()
            index = (
                await connection.execute(
                    sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                    {"name": "ix_customer_name_core_trgm"},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert len(rows) == 12_001
    assert all(core == core_name(name) for name, core in rows)
    assert core_name(rows[0].name).startswith("星辰")
    assert "gin_trgm_ops" in index and "fastupdate=off" in index


async def test_the_migration_fills_existing_rows_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
    await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url, BEFORE_CORE_NAMES)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO customer (id, code, kind, name, name_normalized, industry, "
                    "lifecycle, activity_status, owner_id, created_by, review_status, "
                    "created_at, updated_at, version) VALUES (:id, :code, 'enterprise', :name, "
                    ":name, 'it', 'won', 'active', 'rep', 'rep', 'approved', "
                    "'2026-11-30 00:00:00', '2026-11-30 00:00:00', 1)"
                ),
                [
                    {"id": f"{n:032x}", "code": f"OLD{n}", "name": f"上海华信{n}号贸易有限公司"}
                    for n in range(1, 31)
                ],
            )
        await asyncio.to_thread(upgrade, MIGRATIONS_DIR, url)
        async with engine.connect() as connection:
            rows = (await connection.execute(sa.text("SELECT name, name_core FROM customer"))).all()
    finally:
        await engine.dispose()
    assert len(rows) == 30
    assert all(core == core_name(name) and core.startswith("华信") for name, core in rows)
