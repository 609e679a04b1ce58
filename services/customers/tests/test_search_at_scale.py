"""What keeps search fast at a million customers (bench/customers_search.py) must not change
what it finds: 2-character names through the bigram index, estimated totals past a limit."""

from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy.dialects import postgresql

from crm_customers.db.repository import count_statement
from crm_customers.db.search_spec import CustomerFilter

from .factories import create_customer

NAMES = (
    "杭州星辰网络科技有限公司",
    "上海星辰贸易有限公司",
    "北京星光辰宇科技有限公司",  # 星 and 辰 but not 星辰
    "ABC Trading 有限公司",
    "深圳华信物流有限公司",
)


@pytest.fixture
def settings(settings):
    """A tiny exact-count limit so a handful of customers crosses it."""
    return settings.model_copy(update={"search_exact_total_limit": 3})


async def _create(client, names=NAMES) -> list[dict]:
    return [await create_customer(client, name=name) for name in names]


async def _names(client, **params) -> set[str]:
    response = await client.get("/v1/customers", params={"page_size": 50, **params})
    assert response.status_code == 200, response.text
    return {c["name"] for c in response.json()["items"]}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("星辰", {NAMES[0], NAMES[1]}),
        ("海星", {NAMES[1]}),  # across the city and the trade name
        ("bc", {NAMES[3]}),  # case-insensitive, like ILIKE
        ("Tr", {NAMES[3]}),
        ("辰宇", {NAMES[2]}),
        ("科技", {NAMES[0], NAMES[2]}),
        ("宇星", set()),
        ("星辰网络", {NAMES[0]}),  # longer terms: trigram index, as before
        ("%辰", set()),  # a wildcard is a character like any other
    ],
)
async def test_two_character_names_find_exactly_the_substring_matches(
    client, term, expected
) -> None:
    await _create(client)
    assert await _names(client, name=term) == expected


async def test_quick_search_finds_two_character_names_and_code_prefixes(client) -> None:
    created = await _create(client)
    assert await _names(client, q="星辰") == {NAMES[0], NAMES[1]}
    code = created[4]["code"]
    assert await _names(client, q=code[:-1].lower()) == set(NAMES)  # all share the prefix
    assert await _names(client, q=code) == {NAMES[4]}


async def test_two_character_terms_use_the_bigram_index(client, settings) -> None:
    await _create(client)
    plan = await _plan(
        settings,
        "SELECT id FROM customer WHERE customer_name_bigrams(name) @> "
        "customer_name_bigrams('星辰') AND strpos(lower(name), lower('星辰')) <> 0",
    )
    assert "ix_customer_name_bigrams" in plan


async def test_live_owner_lists_are_counted_from_the_index_alone(client, settings) -> None:
    await _create(client)
    plan = await _plan(
        settings,
        "SELECT count(*) FROM customer WHERE owner_id = 'u-admin' AND lifecycle = 'prospect' "
        "AND archived_at IS NULL",
    )
    assert "Index Only Scan using ix_customer_live_owner_lifecycle" in plan


@pytest.mark.parametrize("visible_owner", [None, "u-admin"], ids=["manager", "rep"])
async def test_the_review_worklist_is_served_by_its_index(client, settings, visible_owner) -> None:
    """The count behind GET /customers/review-due, as the repository builds it for a
    manager (all live customers) and for a rep (their own)."""
    created = await _create(client)
    reviewed = await client.post(
        f"/v1/customers/{created[0]['id']}/review",
        json={"activity_status": "active", "version": created[0]["version"]},
    )
    assert reviewed.status_code == 200, reviewed.text
    due = CustomerFilter(
        archived=False,
        not_reviewed_since=datetime(2026, 9, 30, 16, tzinfo=UTC),
        visible_owner=visible_owner,
    )
    statement = count_statement(due, "postgresql").compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    plan = await _plan(settings, str(statement))
    assert "ix_customer_live_review_due" in plan, plan


async def test_totals_past_the_limit_are_flagged_as_estimates(client) -> None:
    await _create(client)  # 5 customers, limit 3

    first = (await client.get("/v1/customers", params={"page_size": 2})).json()
    assert (len(first["items"]), first["total_exact"]) == (2, False)
    assert first["total"] > 3  # the planner's estimate, never below what was counted

    whole = (await client.get("/v1/customers", params={"page_size": 10})).json()
    assert (len(whole["items"]), whole["total"], whole["total_exact"]) == (5, 5, True)

    last = (await client.get("/v1/customers", params={"page_size": 2, "page": 3})).json()
    assert (len(last["items"]), last["total"], last["total_exact"]) == (1, 5, True)

    few = (await client.get("/v1/customers", params={"name": "星辰", "page_size": 1})).json()
    assert (few["total"], few["total_exact"]) == (2, True)  # under the limit: counted


async def _plan(settings, query: str) -> str:
    """The plan PostgreSQL picks once sequential scans are priced out (a tiny table favours
    them whatever the indexes), after VACUUM so index-only scans are possible."""
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM ANALYZE customer")
        await connection.execute("SET enable_seqscan = off")
        plan = await connection.fetch(f"EXPLAIN {query}")
    finally:
        await connection.close()
    return "\n".join(row[0] for row in plan)
