"""Merging a duplicate: contacts move, one primary stays, tags unite, customer.merged."""

from .conftest import outbox_events
from .factories import create_customer, create_individual, enterprise_body
from .test_grading import evaluate, form
from .test_imports import csv_bytes, upload
from .test_validation import VALID_CREDIT_CODE


async def contacts_of(user, customer: dict) -> list[dict]:
    return (await user.get(f"/v1/customers/{customer['id']}/contacts")).json()


async def test_merge_moves_contacts_and_emits_customer_merged(client) -> None:
    # 高预算 and 转介绍客户 are among the tags every installation starts with.
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


async def test_evaluations_follow_the_surviving_customer(client) -> None:
    target = await create_customer(client, name="苏州工业园精密制造有限公司")
    source = await create_customer(client, name="苏州工业园精密制造公司")
    source_evaluation = (await evaluate(client, source, await form(client, "90"))).json()
    target_evaluation = (await evaluate(client, target, await form(client, "50"))).json()

    merged = await client.post(
        f"/v1/customers/{target['id']}/merge", json={"source_id": source["id"]}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["customer"]["grade"] == "C"  # the survivor's grade is its own

    history = (await client.get(f"/v1/customers/{target['id']}/evaluations")).json()
    assert history["total"] == 2
    by_id = {e["id"]: e for e in history["items"]}
    assert set(by_id) == {source_evaluation["id"], target_evaluation["id"]}
    moved = by_id[source_evaluation["id"]]
    assert (moved["customer_id"], moved["merged_from"]) == (target["id"], source["id"])
    assert (moved["total"], moved["grade"]) == (source_evaluation["total"], "A")
    assert by_id[target_evaluation["id"]]["merged_from"] is None
    assert (await client.get(f"/v1/grading/evaluations/{moved['id']}")).json() == moved
    gone = (await client.get(f"/v1/customers/{source['id']}/evaluations")).json()
    assert gone["total"] == 0

    # A chain of merges: the history follows on, still naming the first customer.
    final = await create_customer(client, name="苏州工业园精密制造集团")
    again = await client.post(
        f"/v1/customers/{final['id']}/merge", json={"source_id": target["id"]}
    )
    assert again.status_code == 200, again.text
    history = (await client.get(f"/v1/customers/{final['id']}/evaluations")).json()
    assert {e["id"]: e["merged_from"] for e in history["items"]} == {
        source_evaluation["id"]: source["id"],
        target_evaluation["id"]: target["id"],
    }


async def test_a_merged_customers_credit_code_points_at_the_survivor(client) -> None:
    survivor = await create_customer(client, name="宁波港口物流有限公司")
    holder = await create_customer(client, name="宁波港口物流公司", credit_code=VALID_CREDIT_CODE)
    merged = await client.post(
        f"/v1/customers/{survivor['id']}/merge", json={"source_id": holder["id"]}
    )
    assert merged.status_code == 200, merged.text

    again = await client.post(
        "/v1/customers",
        json=enterprise_body(name="完全不同的名字", credit_code=VALID_CREDIT_CODE.lower()),
    )
    assert again.status_code == 409, again.text
    body = again.json()
    assert body["type"] == "urn:crm:problem:duplicate-credit-code"
    assert body["existing"] == {
        "id": survivor["id"],
        "code": survivor["code"],
        "name": survivor["name"],
    }
    assert body["merged_from"] == {
        "id": holder["id"],
        "code": holder["code"],
        "name": holder["name"],
        "merged_into": survivor["id"],
    }
    assert survivor["code"] in body["detail"] and holder["code"] in body["detail"]

    # An import row with that credit code is a duplicate of the survivor too.
    rows = [["客户名称", "客户类型", "所属行业", "统一社会信用代码"]]
    rows.append(["宁波港口物流公司", "企业", "it", VALID_CREDIT_CODE])
    report = (await upload(client, csv_bytes(rows), "again.csv", dry_run=True)).json()
    [row] = report["rows"]
    assert row["status"] == "duplicate"
    assert row["duplicate_of"] == {
        "customer_id": survivor["id"],
        "code": survivor["code"],
        "merged_from": {"customer_id": holder["id"], "code": holder["code"]},
    }
    assert row["reasons"] == [
        f"credit_code: {VALID_CREDIT_CODE} already belongs to customer {holder['code']}, "
        f"merged into {survivor['code']}"
    ]
