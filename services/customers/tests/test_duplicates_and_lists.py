"""Duplicate guard, search, archive, tags, enums."""

from .conftest import outbox_events
from .factories import (
    contact_body,
    create_contact,
    create_customer,
    create_industry,
    enterprise_body,
)
from .test_validation import VALID_CREDIT_CODE


async def test_same_credit_code_is_refused_pointing_at_the_existing_customer(client) -> None:
    first = await create_customer(client, credit_code=VALID_CREDIT_CODE)
    again = await client.post("/v1/customers", json=enterprise_body(credit_code=VALID_CREDIT_CODE))
    assert again.status_code == 409
    body = again.json()
    assert body["type"] == "urn:crm:problem:duplicate-credit-code"
    assert body["existing"] == {"id": first["id"], "code": first["code"], "name": first["name"]}


async def test_similar_name_warns_and_the_caller_may_override(client) -> None:
    first = await create_customer(client, name="杭州西湖电子科技有限公司")
    similar = enterprise_body(name="杭州 西湖电子科技 有限公司", allow_duplicate=False)
    warned = await client.post("/v1/customers", json=similar)
    assert warned.status_code == 409
    assert warned.json()["type"] == "urn:crm:problem:possible-duplicate"
    assert warned.json()["candidates"][0]["id"] == first["id"]
    forced = await client.post("/v1/customers", json={**similar, "allow_duplicate": True})
    assert forced.status_code == 201


async def test_same_contact_mobile_warns(client) -> None:
    await create_customer(client, contacts=[contact_body(mobile="13912345678")])
    other = enterprise_body(contacts=[contact_body(mobile="13912345678")], allow_duplicate=False)
    warned = await client.post("/v1/customers", json=other)
    assert warned.status_code == 409
    assert warned.json()["candidates"][0]["reason"] == "same_contact_mobile:13912345678"


async def test_search_filters_sort_and_paginate(client) -> None:
    # 高预算 (High budget) is among the tags every installation starts with.
    rows = [
        ("北京朝阳贸易有限公司", "wholesale", "prospect", ["高预算"]),
        ("北京海淀软件有限公司", "it", "intent", []),
        ("上海浦东软件有限公司", "it", "won", ["高预算"]),
        ("广州天河餐饮有限公司", "hospitality", "lost", []),
    ]
    created = [
        await create_customer(client, name=name, industry=industry, lifecycle=lifecycle, tags=tags)
        for name, industry, lifecycle, tags in rows
    ]

    async def names(**params) -> list[str]:
        response = await client.get("/v1/customers", params=params)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["items"]]

    assert await names(name="软件", sort="name") == ["北京海淀软件有限公司", "上海浦东软件有限公司"]
    assert await names(industry="it", lifecycle="won") == ["上海浦东软件有限公司"]
    assert sorted(await names(tag="高预算")) == sorted(
        ["北京朝阳贸易有限公司", "上海浦东软件有限公司"]
    )
    assert await names(q=created[3]["code"]) == ["广州天河餐饮有限公司"]
    assert await names(q="天河") == ["广州天河餐饮有限公司"]
    assert await names(code=created[1]["code"]) == ["北京海淀软件有限公司"]
    fuzzy = await names(name="北京软件", fuzzy="true")
    assert fuzzy[0] == "北京海淀软件有限公司"
    assert "广州天河餐饮有限公司" not in fuzzy
    assert await names(lifecycle=["prospect", "lost"], sort="code") == [
        "北京朝阳贸易有限公司",
        "广州天河餐饮有限公司",
    ]
    page = (
        await client.get("/v1/customers", params={"page_size": 3, "page": 2, "sort": "code"})
    ).json()
    assert page["total"] == 4 and [c["code"] for c in page["items"]] == [created[3]["code"]]
    assert (
        await client.get("/v1/customers", params={"created_from": "2999-01-01T00:00:00Z"})
    ).json()["total"] == 0
    assert (await client.get("/v1/customers", params={"sort": "bogus"})).status_code == 422


async def test_archived_customers_leave_default_lists_and_can_be_restored(client) -> None:
    customer = await create_customer(client)
    archived = await client.post(f"/v1/customers/{customer['id']}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert (await client.get("/v1/customers")).json()["total"] == 0
    assert (await client.get("/v1/customers", params={"archived": "true"})).json()["total"] == 1
    assert (await client.post(f"/v1/customers/{customer['id']}/archive")).status_code == 409
    restored = await client.post(f"/v1/customers/{customer['id']}/restore")
    assert restored.json()["archived"] is False
    assert (await client.get("/v1/customers")).json()["total"] == 1
    assert [
        e["type"]
        for e in await outbox_events(client)
        if "archived" in e["type"] or "restored" in e["type"]
    ] == [
        "crm.customer.archived",
        "crm.customer.restored",
    ]


async def test_manual_lifecycle_change_emits_lifecycle_changed(client) -> None:
    customer = await create_customer(client)
    await client.patch(
        f"/v1/customers/{customer['id']}", json={"version": 1, "lifecycle": "intent"}
    )
    [event] = await outbox_events(client, "customer.lifecycle_changed")
    assert (
        event["data"]["previous_lifecycle"],
        event["data"]["lifecycle"],
        event["data"]["reason"],
    ) == (
        "prospect",
        "intent",
        "manual",
    )


async def test_contacts_keep_exactly_one_primary_and_emit_consent_changes(client) -> None:
    customer = await create_customer(client, contacts=[{"name": "甲"}])
    url = f"/v1/customers/{customer['id']}/contacts"
    second = await create_contact(client, customer, name="乙", is_primary=True)
    contacts = (await client.get(url)).json()
    assert [(c["name"], c["is_primary"]) for c in contacts] == [("乙", True), ("甲", False)]
    updated = await client.patch(
        f"{url}/{second['id']}",
        json={"version": second["version"], "marketing_opt_out": {"email": True}},
    )
    assert updated.json()["marketing_opt_out"] == {"email": True, "sms": False, "wechat": False}
    consent = [
        e["data"]
        for e in await outbox_events(client, "contact.changed")
        if e["data"]["id"] == second["id"]
    ]
    assert consent[-1]["marketing_opt_out"]["email"] is True
    assert (await client.delete(f"{url}/{second['id']}")).status_code == 204
    remaining = (await client.get(url)).json()
    assert [(c["name"], c["is_primary"]) for c in remaining] == [("甲", True)]


async def test_tags_are_administered_by_admins(client, as_user) -> None:
    assert (
        await as_user("alice", "sales_rep").post("/v1/tags", json={"name": "展会客户"})
    ).status_code == 403
    assert (await client.post("/v1/tags", json={"name": "展会客户"})).status_code == 201
    assert (await client.post("/v1/tags", json={"name": "展会客户"})).status_code == 409
    assert (await client.post("/v1/tags", json={"name": "竞品客户"})).status_code == 409  # seeded


async def test_an_administered_industry_takes_customers_until_it_is_retired(
    client, as_user
) -> None:
    body = {"code": "new_energy", "name_zh": "新能源", "name_en": "New energy"}
    assert (
        await as_user("alice", "sales_rep").post("/v1/industries", json=body)
    ).status_code == 403
    industry = await create_industry(client, **body)
    assert (await client.post("/v1/industries", json=body)).status_code == 409
    enums = (await client.get("/v1/meta/enums")).json()
    assert {"code": "new_energy", "zh-CN": "新能源", "en": "New energy", "active": True} in enums[
        "industry"
    ]
    customer = await create_customer(client, industry=industry["code"])
    assert customer["industry"] == "new_energy"

    retired = await client.patch("/v1/industries/new_energy", json={"active": False})
    assert retired.status_code == 200 and retired.json()["active"] is False
    refused = await client.post("/v1/customers", json=enterprise_body(industry="new_energy"))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.industry"
    kept = (await client.get(f"/v1/customers/{customer['id']}")).json()
    assert kept["industry"] == "new_energy"  # who has it keeps it


async def test_enums_have_codes_and_both_labels(client) -> None:
    enums = (await client.get("/v1/meta/enums")).json()
    assert {"code": "prospect", "zh-CN": "潜在客户", "en": "Prospect", "active": True} in enums[
        "lifecycle"
    ]
    assert any(i["code"] == "manufacturing" and i["zh-CN"] == "制造业" for i in enums["industry"])
    assert {"customer_kind", "activity_status", "grade", "channel", "lead_source"} <= set(enums)


async def test_a_page_names_its_customers_in_one_call_by_id(client, as_user) -> None:
    mine = [await create_customer(as_user("rep-ids", "sales_rep")) for _ in range(3)]
    theirs = await create_customer(as_user("rep-other", "sales_rep"))
    archived = await client.post(f"/v1/customers/{mine[2]['id']}/archive")
    assert archived.status_code == 200
    wanted = [mine[0]["id"], mine[2]["id"], theirs["id"]]
    found = await client.get("/v1/customers", params={"id": wanted, "page_size": 200})
    assert found.status_code == 200, found.text
    # Archived ones too: a follow-up may be about a customer archived since.
    assert {c["id"] for c in found.json()["items"]} == set(wanted)
    live = await client.get("/v1/customers", params={"id": wanted, "archived": "false"})
    assert {c["id"] for c in live.json()["items"]} == {mine[0]["id"], theirs["id"]}
    # A rep is answered only the ones they may see.
    as_rep = await as_user("rep-ids", "sales_rep").get("/v1/customers", params={"id": wanted})
    assert {c["id"] for c in as_rep.json()["items"]} == {mine[0]["id"], mine[2]["id"]}
    too_many = await client.get("/v1/customers", params={"id": [mine[0]["id"]] * 201})
    assert too_many.status_code == 422
    not_an_id = await client.get("/v1/customers", params={"id": "KH-1"})
    assert not_an_id.status_code == 422
