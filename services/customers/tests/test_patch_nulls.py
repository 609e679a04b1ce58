"""One rule for every PATCH: ``null`` clears a field only where the record may lack it;
anywhere else it is a 422 naming the field (it used to reach a NOT NULL column: 500, or a
tag's 409 "Tag None already exists.")."""

import uuid
from typing import Any

import pytest

CUSTOMER = {
    "kind": "enterprise",
    "name": "上海星辰科技有限公司",
    "industry": "it",
    "remarks": "老客户",
    "contacts": [{"name": "张伟", "mobile": "13800138000", "email": "zw@example.com"}],
}


@pytest.fixture
async def targets(client) -> dict[str, Any]:
    """One record behind each PATCH route, and the URL and base body to patch it with."""
    customer = (await client.post("/v1/customers", json=CUSTOMER)).json()
    [contact] = (await client.get(f"/v1/customers/{customer['id']}/contacts")).json()
    tag_body = {"name": f"重点{uuid.uuid4().hex[:6]}", "name_en": "Key"}
    tag = (await client.post("/v1/tags", json=tag_body)).json()
    indicator = (await client.get("/v1/grading/indicators")).json()[0]
    return {
        "customer": (f"/v1/customers/{customer['id']}", {"version": 1}),
        "contact": (
            f"/v1/customers/{customer['id']}/contacts/{contact['id']}",
            {"version": contact["version"]},
        ),
        "industry": ("/v1/industries/it", {}),
        "tag": (f"/v1/tags/{tag['id']}", {}),
        "indicator": (f"/v1/grading/indicators/{indicator['id']}", {"version": 1}),
    }


REFUSED = [
    ("industry", "active"),
    ("industry", "name_zh"),
    ("industry", "name_en"),
    ("industry", "sort_order"),
    ("contact", "name"),
    ("contact", "is_primary"),
    ("contact", "marketing_opt_out"),
    ("tag", "name"),
    ("tag", "active"),
    ("customer", "name"),
    ("customer", "industry"),
    ("customer", "lifecycle"),
    ("customer", "activity_status"),
    ("customer", "kind"),
    ("customer", "tags"),
    ("indicator", "name_zh"),
    ("indicator", "name_en"),
    ("indicator", "weight"),
    ("indicator", "max_score"),
    ("indicator", "active"),
    ("indicator", "sort_order"),
    ("customer", "version"),
    ("contact", "version"),
]


@pytest.mark.parametrize(("route", "field"), REFUSED)
async def test_null_for_a_field_the_record_cannot_lack_is_a_422_naming_it(
    client, targets, route: str, field: str
) -> None:
    url, base = targets[route]
    response = await client.patch(url, json={**base, field: None})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:crm:problem:validation-error"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        (f"body.{field}", "null_not_allowed")
    ]


CLEARED = [
    ("customer", "remarks"),
    ("customer", "grade"),
    ("contact", "email"),
    ("contact", "position"),
    ("tag", "name_en"),
    ("indicator", "description"),
]


@pytest.mark.parametrize(("route", "field"), CLEARED)
async def test_null_clears_a_field_the_record_may_lack(
    client, targets, route: str, field: str
) -> None:
    url, base = targets[route]
    response = await client.patch(url, json={**base, field: None})
    assert response.status_code == 200, response.text
    assert response.json()[field] is None


async def test_a_partial_patch_still_leaves_other_fields_alone(client, targets) -> None:
    url, base = targets["contact"]
    response = await client.patch(url, json={**base, "position": "采购经理"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["email"]) == ("张伟", "zw@example.com")


PATCH_BODIES = ["CustomerPatch", "ContactPatch", "IndustryPatch", "TagPatch", "IndicatorPatch"]


async def test_the_openapi_document_says_which_fields_take_null(client) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]

    def nullable(model: str, field: str) -> bool:
        prop = schemas[model]["properties"][field]
        return {"type": "null"} in prop.get("anyOf", [])

    expected = {route: set() for route in PATCH_BODIES}
    expected["CustomerPatch"] = {
        "grade",
        "credit_code",
        "registered_address",
        "id_number",
        "source",
        "referred_by",
        "needs",
        "remarks",
    }
    expected["ContactPatch"] = {"position", "mobile", "phone", "email", "wechat"}
    expected["TagPatch"] = {"name_en"}
    expected["IndicatorPatch"] = {"description"}
    for model in PATCH_BODIES:
        fields = schemas[model]["properties"]
        assert {f for f in fields if nullable(model, f)} == expected[model], model
    # Every PATCH route of the service takes one of these bodies.
    paths = (await client.get("/openapi.json")).json()["paths"]
    patched = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for item in paths.values()
        for method, op in item.items()
        if method == "patch"
    }
    assert patched == set(PATCH_BODIES)


async def test_renaming_a_tag_to_a_taken_name_is_still_a_duplicate(client, targets) -> None:
    taken = (await client.post("/v1/tags", json={"name": "已占用"})).json()
    url, _ = targets["tag"]
    response = await client.patch(url, json={"name": taken["name"]})
    assert response.status_code == 409
    assert response.json()["type"] == "urn:crm:problem:duplicate-tag"
