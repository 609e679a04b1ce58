"""Merging a duplicate: contacts move, one primary stays, tags unite, customer.merged."""

from .conftest import outbox_events
from .factories import create_customer, create_individual, create_tags


async def contacts_of(user, customer: dict) -> list[dict]:
    return (await user.get(f"/v1/customers/{customer['id']}/contacts")).json()


async def test_merge_moves_contacts_and_emits_customer_merged(client) -> None:
    await create_tags(client, "高预算", "转介绍客户")
    target = await create_customer(
        client, name="深圳南山科技有限公司", contacts=[{"name": "张三"}], tags=["高预算"]
    )
    source = await create_customer(
        client,
        name="深圳南山科技公司",
        contacts=[{"name": "李四", "mobile": "13800138000"}, {"name": "王五"}],
        tags=["转介绍客户", "高预算"],
    )
    moved_ids = sorted(c["id"] for c in await contacts_of(client, source))

    response = await client.post(
        f"/v1/customers/{target['id']}/merge", json={"source_id": source["id"], "version": 1}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["moved_contact_ids"]) == moved_ids
    assert body["source_code"] == source["code"]
    assert set(body["customer"]["tags"]) == {"高预算", "转介绍客户"}
    assert body["customer"] == (await client.get(f"/v1/customers/{target['id']}")).json()

    contacts = await contacts_of(client, target)
    assert {c["name"] for c in contacts} == {"张三", "李四", "王五"}
    assert [c["name"] for c in contacts if c["is_primary"]] == ["张三"]  # the target's primary
    merged_source = (await client.get(f"/v1/customers/{source['id']}")).json()
    assert merged_source["archived"] is True
    assert merged_source["merged_into"] == target["id"]
    live = (await client.get("/v1/customers")).json()
    assert [c["id"] for c in live["items"]] == [target["id"]]

    [merged] = await outbox_events(client, "customer.merged")
    assert merged["subject"] == target["id"]
    assert merged["data"]["source_id"] == source["id"]
    assert merged["data"]["source_code"] == source["code"]
    assert sorted(merged["data"]["moved_contact_ids"]) == moved_ids
    assert merged["data"]["customer"]["id"] == target["id"]
    contact_events = [
        e for e in await outbox_events(client, "contact.changed") if e["subject"] in moved_ids
    ]
    assert {e["data"]["customer_id"] for e in contact_events[-2:]} == {target["id"]}
    archived = await outbox_events(client, "customer.archived")
    assert [e["subject"] for e in archived] == [source["id"]]


async def test_what_cannot_be_merged(client) -> None:
    first = await create_customer(client, name="厦门鼓浪屿文旅有限公司")
    second = await create_customer(client, name="厦门鼓浪屿文旅公司")
    person = await create_individual(client)

    itself = await client.post(
        f"/v1/customers/{first['id']}/merge", json={"source_id": first["id"]}
    )
    assert itself.status_code == 422
    kinds = await client.post(
        f"/v1/customers/{first['id']}/merge", json={"source_id": person["id"]}
    )
    assert kinds.status_code == 422 and "source_id" in kinds.json()["detail"]

    ok = await client.post(f"/v1/customers/{first['id']}/merge", json={"source_id": second["id"]})
    assert ok.status_code == 200
    again = await client.post(
        f"/v1/customers/{first['id']}/merge", json={"source_id": second["id"]}
    )
    assert again.status_code == 409  # already merged
    into_merged = await client.post(
        f"/v1/customers/{second['id']}/merge", json={"source_id": first["id"]}
    )
    assert into_merged.status_code == 409  # the merged one is archived


async def test_a_rep_merges_only_customers_they_own(client, as_user) -> None:
    alice, bob = as_user("alice", "sales_rep"), as_user("bob", "sales_rep")
    mine = await create_customer(alice, name="青岛海湾啤酒有限公司", contacts=[{"name": "赵六"}])
    also_mine = await create_customer(alice, name="青岛海湾啤酒公司", contacts=[{"name": "钱七"}])
    theirs = await create_customer(bob, name="青岛海湾啤酒集团", contacts=[{"name": "孙八"}])

    refused = await alice.post(
        f"/v1/customers/{mine['id']}/merge", json={"source_id": theirs["id"]}
    )
    assert refused.status_code == 404
    assert (
        len(await contacts_of(bob, theirs)) == 1
        and not (await bob.get(f"/v1/customers/{theirs['id']}")).json()["archived"]
    )
    assert await outbox_events(client, "customer.merged") == []

    merged = await alice.post(
        f"/v1/customers/{mine['id']}/merge", json={"source_id": also_mine["id"]}
    )
    assert merged.status_code == 200, merged.text
    assert {c["name"] for c in await contacts_of(alice, mine)} == {"赵六", "钱七"}
