"""Chinese identifiers and contact data: pure checks, then the API naming the bad field."""

from datetime import date

import pytest

from crm_customers.domain.validation import (
    credit_code_check_char,
    credit_code_error,
    id_number_check_char,
    id_number_error,
    is_mainland_mobile,
    mask_id_number,
)

VALID_CREDIT_CODE = "91350100M000100Y43"  # a published example with a correct check character
VALID_ID_NUMBER = "11010519491231002X"  # GB 11643's own example


def with_credit_check(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def with_id_check(first17: str) -> str:
    return first17 + id_number_check_char(first17)


def test_known_good_identifiers_pass() -> None:
    assert credit_code_error(VALID_CREDIT_CODE) is None
    assert id_number_error(VALID_ID_NUMBER) is None
    assert credit_code_error(with_credit_check("91110108MA01ABCD1")) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y44", "check character"),
        ("91350100M000100YI3", "not allowed"),  # I is not in the GB 32100 charset
        ("91350100m000100y43", "not allowed"),  # lower case must be normalised by the caller
    ],
)
def test_bad_credit_codes_say_why(value: str, reason: str) -> None:
    assert reason in (credit_code_error(value) or "")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check digit"),
        ("11010519491331002X", "birth date"),
        ("1101051949123100", "18 characters"),
        ("11010519491231002Y", "17 digits"),
        (with_id_check("11010530001231002"), "birth date"),
    ],
)
def test_bad_id_numbers_say_why(value: str, reason: str) -> None:
    assert reason in (id_number_error(value, today=date(2026, 1, 1)) or "")


@pytest.mark.parametrize("mobile", ["13800138000", "19912345678", "16612345678"])
def test_mainland_mobiles(mobile: str) -> None:
    assert is_mainland_mobile(mobile)


@pytest.mark.parametrize(
    "mobile", ["12800138000", "1380013800", "138001380001", "+8613800138000", "1380013800a"]
)
def test_not_mainland_mobiles(mobile: str) -> None:
    assert not is_mainland_mobile(mobile)


def test_mask_keeps_first_and_last_four() -> None:
    assert mask_id_number(VALID_ID_NUMBER) == "1101**********002X"


ENTERPRISE = {"kind": "enterprise", "name": "福建某某科技有限公司", "industry": "it"}
PERSON = {"kind": "individual", "name": "张伟", "industry": "retail"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {**ENTERPRISE, "contacts": [{"name": "李", "mobile": "12345678901"}]},
            "body.contacts.0.mobile",
        ),
        ({**ENTERPRISE, "contacts": [{"name": "李", "email": "li@"}]}, "body.contacts.0.email"),
        ({**ENTERPRISE, "credit_code": "91350100M000100Y44"}, "body.credit_code"),
        ({**PERSON, "id_number": "110105194912310021"}, "body.id_number"),
        ({**ENTERPRISE, "lifecycle": "friendly"}, "body.lifecycle"),
        ({**ENTERPRISE, "grade": "D"}, "body.grade"),
        ({**ENTERPRISE, "name": "   "}, "body.name"),
        ({**ENTERPRISE, "contacts": [{"name": "李", "phone": "abc"}]}, "body.contacts.0.phone"),
    ],
)
async def test_invalid_fields_get_422_naming_the_field(client, body: dict, field: str) -> None:
    response = await client.post("/v1/customers", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


async def test_unadministered_industry_and_tag_name_the_field(client) -> None:
    response = await client.post("/v1/customers", json={**ENTERPRISE, "industry": "alchemy"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.industry"
    response = await client.post("/v1/customers", json={**ENTERPRISE, "tags": ["没有这个标签"]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.tags"


async def test_kind_specific_fields_are_refused_on_the_other_kind(client) -> None:
    response = await client.post("/v1/customers", json={**PERSON, "credit_code": VALID_CREDIT_CODE})
    assert response.status_code == 422
    assert "credit_code applies to enterprise" in response.text
    response = await client.post("/v1/customers", json={**ENTERPRISE, "id_number": VALID_ID_NUMBER})
    assert response.status_code == 422


async def test_valid_identifiers_are_accepted_and_normalised(client) -> None:
    response = await client.post(
        "/v1/customers",
        json={
            **ENTERPRISE,
            "credit_code": VALID_CREDIT_CODE.lower().replace("m", "M"),
            "contacts": [
                {
                    "name": "李娜",
                    "mobile": "13800138000",
                    "email": "li.na@example.cn",
                    "phone": "0591-87654321",
                }
            ],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["credit_code"] == VALID_CREDIT_CODE
