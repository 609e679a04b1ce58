"""Opportunities through the HTTP API: codes, defaults, record-level access, optimistic
concurrency, the stage machine's refusals as problem+json, history and outbox events."""

import asyncio
import json
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from crm_engagement.domain import opportunities
from crm_engagement.settings import Settings
from crm_platform.db import create_engine, create_sessionmaker

from .factories import ADMIN, MANAGER, as_role, create_opportunity, move, rep, seed_customer

WON = {"actual_amount": "118000.50", "contract_number": "HT-2026-0042"}


async def _outbox(settings: Settings, subject: str) -> list[tuple[str, dict]]:
    """The events staged for ``subject``: (type, CloudEvent as JSON), oldest first."""
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT body FROM outbox_message ORDER BY created_at, id")
            )
            events = [json.loads(body) for (body,) in rows.all()]
    finally:
        await engine.dispose()
    return [(e["type"], e) for e in events if e.get("subject") == subject]


async def test_codes_follow_the_customer_code_and_defaults_apply(client, settings) -> None:
    customer = await seed_customer(settings.database_url, owner_id="u-rep-1", code="ABC2024001")
    first = await create_opportunity(client, customer["id"], headers=rep("u-rep-1"))
    second = await create_opportunity(
        client, customer["id"], headers=rep("u-rep-1"), stage="proposal", probability=40
    )
    assert first["code"] == "ABC2024001OP01"
    assert second["code"] == "ABC2024001OP02"
    assert first["owner_id"] == "u-rep-1"  # the customer's owner
    assert first["stage"] == "initial_contact" and first["probability"] == 10
    assert second["probability"] == 40
    assert first["expected_amount"] == "120000.00"  # a JSON string, never a float
    assert first["version"] == 1
    assert [h["to_stage"] for h in first["history"]] == ["initial_contact"]


async def test_codes_widen_past_99(client, settings) -> None:
    customer = await seed_customer(settings.database_url, code="ABC2024002")
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO opportunity_serial (customer_id, last_serial) VALUES (:c, 99)"),
            {"c": customer["id"]},
        )
    await engine.dispose()
    created = await create_opportunity(client, customer["id"])
    assert created["code"] == "ABC2024002OP100"


async def test_concurrent_creates_get_distinct_codes(client, settings) -> None:
    customer = await seed_customer(settings.database_url)
    results = await asyncio.gather(
        *(create_opportunity(client, customer["id"], headers=MANAGER) for _ in range(12))
    )
    codes = sorted(r["code"] for r in results)
    assert codes == [f"{customer['code']}OP{n:02d}" for n in range(1, 13)]


async def test_create_is_idempotent_with_a_key(client, settings) -> None:
    customer = await seed_customer(settings.database_url)
    body = {"customer_id": str(customer["id"]), "name": "CRM 项目", "expected_amount": "5000"}
    headers = {**ADMIN, "idempotency-key": "opp-key-1"}
    one = await client.post("/v1/opportunities", json=body, headers=headers)
    two = await client.post("/v1/opportunities", json=body, headers=headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] == two.json()["id"]
    assert two.headers["idempotent-replay"] == "true"


async def test_a_rep_sees_and_works_only_their_customers_opportunities(client, settings) -> None:
    mine = await seed_customer(settings.database_url, owner_id="u-rep-a")
    theirs = await seed_customer(settings.database_url, owner_id="u-rep-b")
    own = await create_opportunity(client, mine["id"], headers=rep("u-rep-a"))
    other = await create_opportunity(client, theirs["id"], headers=rep("u-rep-b"))

    as_a = rep("u-rep-a")
    assert (await client.get(f"/v1/opportunities/{own['id']}", headers=as_a)).status_code == 200
    hidden = await client.get(f"/v1/opportunities/{other['id']}", headers=as_a)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
    patched = await client.patch(
        f"/v1/opportunities/{other['id']}", json={"version": 1, "name": "x"}, headers=as_a
    )
    assert patched.status_code == 404
    listed = (await client.get("/v1/opportunities", headers=as_a)).json()
    assert {o["id"] for o in listed["items"]} == {own["id"]}
    refused = await client.post(
        "/v1/opportunities",
        json={"customer_id": str(theirs["id"]), "name": "x", "expected_amount": "1"},
        headers=as_a,
    )
    assert refused.status_code == 422
    # A rep cannot make someone else the owner; a manager can.
    given = await client.post(
        "/v1/opportunities",
        json={
            "customer_id": str(mine["id"]),
            "name": "x",
            "expected_amount": "1",
            "owner_id": "u-z",
        },
        headers=as_a,
    )
    assert given.status_code == 403
    # Managers and viewers see all; viewers cannot write.
    viewer = as_role("viewer")
    assert (await client.get(f"/v1/opportunities/{other['id']}", headers=viewer)).status_code == 200
    assert (
        await client.get(f"/v1/opportunities/{other['id']}", headers=MANAGER)
    ).status_code == 200
    written = await client.patch(
        f"/v1/opportunities/{other['id']}", json={"version": 1, "name": "x"}, headers=viewer
    )
    assert written.status_code == 403


async def test_archived_customers_take_no_new_opportunities(client, settings) -> None:
    customer = await seed_customer(settings.database_url, archived=True)
    response = await client.post(
        "/v1/opportunities",
        json={"customer_id": str(customer["id"]), "name": "x", "expected_amount": "1"},
        headers=ADMIN,
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("customer-archived")


async def test_patch_needs_the_current_version(client, settings) -> None:
    customer = await seed_customer(settings.database_url)
    created = await create_opportunity(client, customer["id"])
    url = f"/v1/opportunities/{created['id']}"
    ok = await client.patch(
        url,
        json={
            "version": 1,
            "expected_amount": "99999.99",
            "competitors": [{"name": "用友", "analysis": "价格低"}],
            "strengths": "本地服务",
            "expected_close_on": None,
        },
        headers=ADMIN,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    assert ok.json()["expected_amount"] == "99999.99"
    assert ok.json()["competitors"] == [{"name": "用友", "analysis": "价格低"}]
    assert ok.json()["expected_close_on"] is None
    stale = await client.patch(url, json={"version": 1, "name": "late"}, headers=ADMIN)
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("stale-version")
    missing = await client.patch(url, json={"name": "no version"}, headers=ADMIN)
    assert missing.status_code == 428
    too_precise = await client.patch(
        url, json={"version": 2, "expected_amount": "1.005"}, headers=ADMIN
    )
    assert too_precise.status_code == 422


async def test_the_stage_machine_through_the_api(client, settings) -> None:
    customer = await seed_customer(settings.database_url, owner_id="u-rep-s")
    as_rep = rep("u-rep-s")
    opp = await create_opportunity(client, customer["id"], headers=as_rep)
    opp = await move(client, opp, "needs_analysis", headers=as_rep)
    assert opp["probability"] == 25
    opp = await move(client, opp, "proposal", headers=as_rep, probability=45)
    assert opp["probability"] == 45
    opp = await move(client, opp, "needs_analysis", headers=as_rep)  # back, with a note

    # A note is required.
    no_note = await client.post(
        f"/v1/opportunities/{opp['id']}/stage",
        json={"to": "proposal", "version": opp["version"]},
        headers=as_rep,
    )
    assert no_note.status_code == 422
    refused = await move(client, opp, "won", headers=as_rep, expect=422)
    assert refused["type"].endswith("won-requires-contract")
    assert refused["rule"] == "won-requires-contract"
    refused = await move(client, opp, "lost", headers=as_rep, expect=422)
    assert refused["type"].endswith("lost-requires-reason")
    same = await move(client, opp, "needs_analysis", headers=as_rep, expect=422)
    assert same["type"].endswith("illegal-stage-move")
    stale = await move(client, {**opp, "version": 1}, "proposal", headers=as_rep, expect=409)
    assert stale["type"].endswith("stale-version")

    won = await move(client, opp, "won", headers=as_rep, **WON)
    assert won["stage"] == "won" and won["probability"] == 100
    assert won["actual_amount"] == "118000.50" and won["closed_at"] is not None
    to_lost = await move(client, won, "lost", headers=MANAGER, lost_reason="budget", expect=422)
    assert to_lost["rule"] == "closed-to-closed"
    reopen = await move(client, won, "negotiation", headers=as_rep, expect=403)
    assert reopen["type"].endswith("reopen-requires-manager")
    reopened = await move(client, won, "negotiation", headers=MANAGER)
    assert reopened["stage"] == "negotiation" and reopened["closed_at"] is None
    assert reopened["actual_amount"] is None and reopened["probability"] == 75
    lost = await move(
        client, reopened, "lost", headers=as_rep, lost_reason="competitor", lost_detail="华为"
    )
    assert lost["lost_reason"] == "competitor" and lost["probability"] == 0
    assert [(h["from_stage"], h["to_stage"]) for h in lost["history"]] == [
        (None, "initial_contact"),
        ("initial_contact", "needs_analysis"),
        ("needs_analysis", "proposal"),
        ("proposal", "needs_analysis"),
        ("needs_analysis", "won"),
        ("won", "negotiation"),
        ("negotiation", "lost"),
    ]
    assert lost["history"][4]["contract_number"] == "HT-2026-0042"
    assert lost["history"][4]["changed_by"] == "u-rep-s"

    events = await _outbox(settings, opp["id"])
    types = [t for t, _ in events]
    assert types.count("crm.opportunity.created") == 1
    assert types.count("crm.opportunity.stage_changed") == 6
    assert types.count("crm.opportunity.won") == 1 and types.count("crm.opportunity.lost") == 1
    won_event = next(p for t, p in events if t == "crm.opportunity.won")
    # What the customers service reads (lifecycle automation).
    assert won_event["data"]["id"] == opp["id"]
    assert won_event["data"]["customer_id"] == str(customer["id"])


async def test_lists_filter_and_page(client, settings) -> None:
    customer = await seed_customer(settings.database_url, owner_id="u-rep-l")
    a = await create_opportunity(client, customer["id"], expected_close_on="2027-01-10")
    b = await create_opportunity(client, customer["id"], expected_close_on="2027-02-10")
    await move(client, b, "lost", lost_reason="timing")
    c = await create_opportunity(client, customer["id"], stage="proposal", owner_id="u-other")

    async def ids(**params) -> set[str]:
        response = await client.get(
            "/v1/opportunities",
            params={"customer_id": str(customer["id"]), **params},
            headers=ADMIN,
        )
        assert response.status_code == 200, response.text
        return {o["id"] for o in response.json()["items"]}

    assert await ids() == {a["id"], b["id"], c["id"]}
    assert await ids(open_only=True) == {a["id"], c["id"]}
    assert await ids(stage="proposal") == {c["id"]}
    assert await ids(owner_id="u-other") == {c["id"]}
    assert await ids(close_from="2027-02-01", close_to="2027-02-28") == {b["id"]}
    page = await client.get(
        "/v1/opportunities",
        params={"customer_id": str(customer["id"]), "page_size": 2, "page": 2},
        headers=ADMIN,
    )
    assert page.json()["total"] == 3 and len(page.json()["items"]) == 1


async def test_opportunities_follow_a_merge_and_an_owner_change(client, settings) -> None:
    source = await seed_customer(settings.database_url, owner_id="u-old", code="ABC2024100")
    survivor = await seed_customer(settings.database_url, owner_id="u-new", code="ABC2024101")
    kept = await create_opportunity(client, survivor["id"])
    moved_open = await create_opportunity(client, source["id"])
    moved_won = await create_opportunity(client, source["id"])
    moved_won = await move(client, moved_won, "won", **WON)

    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            ids = await opportunities.repoint_opportunities(session, source["id"], survivor["id"])
        assert {str(i) for i in ids} == {moved_open["id"], moved_won["id"]}
        async with sessions() as session, session.begin():
            changed = await opportunities.reassign_open_opportunities(
                session, survivor["id"], "u-new"
            )
        # The survivor's own one is already the new owner's: not rewritten.
        assert {str(i) for i in changed} == {moved_open["id"]}
    finally:
        await engine.dispose()

    after = (
        await client.get(
            "/v1/opportunities", params={"customer_id": str(survivor["id"])}, headers=ADMIN
        )
    ).json()["items"]
    by_id = {o["id"]: o for o in after}
    assert set(by_id) == {kept["id"], moved_open["id"], moved_won["id"]}
    assert by_id[moved_open["id"]]["code"] == "ABC2024100OP01"  # codes never change
    assert by_id[moved_open["id"]]["owner_id"] == "u-new"
    assert by_id[moved_won["id"]]["owner_id"] == "u-old"  # closed: credited to its closer
    assert by_id[kept["id"]]["version"] == 1
    assert by_id[moved_open["id"]]["version"] == 3  # repointed, then reassigned
    # The survivor's own numbering goes on past the moved ones.
    fresh = await create_opportunity(client, survivor["id"])
    assert fresh["code"] == "ABC2024101OP04"


async def test_unknown_ids_are_404_problems(client) -> None:
    response = await client.get(f"/v1/opportunities/{uuid.uuid4()}", headers=ADMIN)
    assert response.status_code == 404
    assert isinstance(client, httpx.AsyncClient)
