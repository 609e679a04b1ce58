"""Generated requests against every operation of the customers API: none may answer 5xx."""

import pytest

from crm_customers.settings import CustomersSettings
from crm_platform.testing import bearer
from crm_platform.testing_fuzz import fuzz_openapi


@pytest.fixture(autouse=True)
def _without_consumer(settings: CustomersSettings) -> None:
    settings.consumer_enabled = False  # nothing here consumes events


async def realistic_ids(client) -> list[dict[str, str]]:
    """Records for the path parameters to name: customers with contacts, a tag, an
    indicator, an evaluation, a change request and an import."""
    examples: list[dict[str, str]] = []
    tag = (await client.post("/v1/tags", json={"name": "重点客户"})).json()
    indicators = (await client.get("/v1/grading/indicators")).json()
    for n, lifecycle in enumerate(("prospect", "won")):
        body = {
            "kind": "enterprise",
            "name": f"上海星辰{n}号科技有限公司",
            "industry": "it",
            "lifecycle": lifecycle,
            "tags": [tag["name"]],
            "contacts": [{"name": "张伟", "mobile": f"1380013800{n}"}, {"name": "李娜"}],
            "allow_duplicate": True,
        }
        customer = (await client.post("/v1/customers", json=body)).json()
        contacts = (await client.get(f"/v1/customers/{customer['id']}/contacts")).json()
        scores = [{"indicator_id": i["id"], "score": "70"} for i in indicators]
        evaluation = (
            await client.post(
                f"/v1/customers/{customer['id']}/evaluations", json={"scores": scores}
            )
        ).json()
        for contact in contacts:
            examples.append(
                {
                    "customer_id": customer["id"],
                    "contact_id": contact["id"],
                    "evaluation_id": evaluation["id"],
                    "indicator_id": indicators[n]["id"],
                    "tag_id": tag["id"],
                    "code": "it",
                }
            )
    won = examples[-1]["customer_id"]
    changed = await client.patch(
        f"/v1/customers/{won}", json={"version": 2, "name": "上海星辰智能有限公司"}
    )
    assert changed.status_code == 202, changed.text
    csv = "客户名称,客户类型,所属行业\n杭州云栖网络有限公司,企业,it\n".encode()
    imported = (
        await client.post("/v1/customers/imports", files={"file": ("c.csv", csv, "text/csv")})
    ).json()
    for example in examples:
        example["request_id"] = changed.json()["change_request"]["id"]
        example["import_id"] = imported["id"]
    return examples


async def test_no_generated_request_gets_a_server_error(client, settings) -> None:
    report = await fuzz_openapi(
        client.app,
        headers=bearer(settings.internal_token_secret, "admin", subject="u-admin"),
        path_examples=await realistic_ids(client),
        max_examples=25,
    )
    print(report.summary())
    assert len(report.operations) >= 40
    assert report.calls >= 5 * len(report.operations)
    assert report.errors == [], report.summary()


ONCE_A_500 = [
    # Found by the fuzz: an integer beyond the INTEGER column reached the database.
    (
        "POST",
        "/v1/industries",
        {"code": "big_order", "name_zh": "大", "name_en": "B", "sort_order": 2**70},
    ),
    ("PATCH", "/v1/industries/it", {"sort_order": -(2**40)}),
    # Found while reading for it: a time whose UTC form leaves the calendar overflowed.
    ("GET", "/v1/customers?created_from=9999-12-31T23:00:00-14:00", None),
    # Found by the fuzz: PostgreSQL cannot store NUL in a text (body or query).
    ("POST", "/v1/tags", {"name": "nul\x00tag"}),
    ("GET", "/v1/customers?tag=a%00b", None),
]


@pytest.mark.parametrize(("method", "url", "body"), ONCE_A_500)
async def test_inputs_that_once_answered_500_are_a_422(client, method: str, url: str, body) -> None:
    response = await client.request(method, url, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
