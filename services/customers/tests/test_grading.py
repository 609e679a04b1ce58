"""Customer grading (客户关系评估表, seed 003): the scoring rules, administered indicators and
policy, evaluations that set the grade, and who may do what."""

import uuid
from decimal import Decimal

import pytest

from crm_customers.domain.enums import Grade, Recommendation
from crm_customers.domain.scoring import (
    DEFAULT_RULES,
    GradingRules,
    IndicatorScore,
    grade_for,
    recommendation_for,
    rules_error,
    score,
    weighted_total,
)

from .conftest import outbox_events
from .factories import create_customer, enterprise_body

D = Decimal


def line(score_: str, weight: str = "1", max_score: str = "100") -> IndicatorScore:
    return IndicatorScore(weight=D(weight), max_score=D(max_score), score=D(score_))


# --- the pure scoring rules ---------------------------------------------------------------


def test_total_weighs_each_score_as_a_share_of_its_scale() -> None:
    # 80% of weight 30 + 50% of weight 70 = 24 + 35 = 59
    assert weighted_total([line("8", "30", "10"), line("50", "70", "100")]) == D("59.00")


def test_weights_are_relative_so_the_total_stays_on_0_to_100() -> None:
    assert weighted_total([line("100", "2"), line("100", "3")]) == D("100.00")
    assert weighted_total([line("0", "2"), line("0", "3")]) == D("0.00")
    assert weighted_total([line("90", "1"), line("60", "1")]) == D("75.00")  # sum 2, not 100


def test_total_is_rounded_once_to_two_places_half_up() -> None:
    assert weighted_total([line("100"), line("100"), line("0")]) == D("66.67")
    assert weighted_total([line("0.01"), line("0")]) == D("0.01")  # 0.005: half up, not even


def test_grade_thresholds_are_inclusive_lower_bounds() -> None:
    assert grade_for(D("100"), DEFAULT_RULES) == Grade.A
    assert grade_for(D("85.00"), DEFAULT_RULES) == Grade.A
    assert grade_for(D("84.99"), DEFAULT_RULES) == Grade.B
    assert grade_for(D("60.00"), DEFAULT_RULES) == Grade.B
    assert grade_for(D("59.99"), DEFAULT_RULES) == Grade.C
    assert grade_for(D("0"), DEFAULT_RULES) == Grade.C


def test_the_grade_follows_the_rounded_total_a_person_sees() -> None:
    result = score([line("84.99"), line("85.00")], DEFAULT_RULES)  # exactly 84.995
    assert (result.total, result.grade) == (D("85.00"), Grade.A)


def test_recommendation_by_grade_and_terminate_threshold() -> None:
    assert recommendation_for(D("90"), Grade.A, DEFAULT_RULES) == Recommendation.MAINTAIN
    assert recommendation_for(D("70"), Grade.B, DEFAULT_RULES) == Recommendation.IMPROVE
    assert recommendation_for(D("40.00"), Grade.C, DEFAULT_RULES) == Recommendation.IMPROVE
    assert recommendation_for(D("39.99"), Grade.C, DEFAULT_RULES) == Recommendation.TERMINATE
    no_termination = GradingRules(D(85), D(60), D(0), DEFAULT_RULES.recommendations)
    assert recommendation_for(D("0"), Grade.C, no_termination) == Recommendation.IMPROVE
    strict = GradingRules(
        D(85), D(60), D(40), {**DEFAULT_RULES.recommendations, Grade.C: Recommendation.TERMINATE}
    )
    assert recommendation_for(D("50"), Grade.C, strict) == Recommendation.TERMINATE


def test_score_gives_total_grade_recommendation_and_each_lines_points() -> None:
    result = score([line("90", "25"), line("30", "75")], DEFAULT_RULES)
    assert result.total == D("45.00")  # 22.5 + 22.5
    assert (result.grade, result.recommendation) == (Grade.C, Recommendation.IMPROVE)
    assert result.points == (D("22.50"), D("22.50"))


def test_scores_outside_the_scale_and_empty_forms_are_refused() -> None:
    with pytest.raises(ValueError):
        weighted_total([line("101")])
    with pytest.raises(ValueError):
        weighted_total([line("-1")])
    with pytest.raises(ValueError):
        weighted_total([])


@pytest.mark.parametrize(
    ("a_min", "b_min", "terminate", "field"),
    [
        ("0", "0", "0", "grade_a_min"),
        ("101", "60", "40", "grade_a_min"),
        ("85", "85", "40", "grade_b_min"),
        ("85", "90", "40", "grade_b_min"),
        ("85", "60", "61", "terminate_below"),
        ("85", "60", "-1", "terminate_below"),
        ("85", "60", "40", None),
        ("100", "0", "0", None),
    ],
)
def test_policy_constraints(a_min: str, b_min: str, terminate: str, field: str | None) -> None:
    rules = GradingRules(D(a_min), D(b_min), D(terminate), DEFAULT_RULES.recommendations)
    broken = rules_error(rules)
    assert (broken[0] if broken else None) == field


# --- API helpers --------------------------------------------------------------------------


async def indicators(client, **params) -> list[dict]:
    response = await client.get("/v1/grading/indicators", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def form(client, value: str | dict[str, str] = "80", **extra) -> dict:
    """An evaluation body scoring every active indicator (one value, or per name_zh)."""
    scores = [
        {
            "indicator_id": i["id"],
            "score": value if isinstance(value, str) else value[i["name_zh"]],
            "basis": f"依据: {i['name_zh']}",
        }
        for i in await indicators(client)
    ]
    return {"scores": scores, **extra}


async def evaluate(client, customer: dict, body: dict, **kwargs):
    return await client.post(f"/v1/customers/{customer['id']}/evaluations", json=body, **kwargs)


# --- indicators ---------------------------------------------------------------------------


async def test_default_indicators_are_seeded_with_weights_summing_to_100(client) -> None:
    seeded = await indicators(client)
    names = [i["name_zh"] for i in seeded]
    assert names[:5] == ["年采购额", "合作年限", "合作深度", "客户满意度", "发展潜力"]
    assert sum(D(i["weight"]) for i in seeded) == D(100)
    assert all(D(i["max_score"]) == D(100) and i["active"] and i["version"] == 1 for i in seeded)


async def test_admin_creates_changes_and_retires_indicators(client) -> None:
    created = await client.post(
        "/v1/grading/indicators",
        json={"name_zh": "转介绍贡献", "name_en": "Referrals", "weight": "5", "max_score": "10"},
    )
    assert created.status_code == 201, created.text
    indicator = created.json()
    assert (indicator["weight"], indicator["max_score"], indicator["version"]) == (
        "5.00",
        "10.00",
        1,
    )

    changed = await client.patch(
        f"/v1/grading/indicators/{indicator['id']}",
        json={"weight": "8", "description": "每成功转介绍一家得2分", "version": 1},
    )
    assert changed.status_code == 200, changed.text
    assert D(changed.json()["weight"]) == D(8) and changed.json()["version"] == 2

    retired = await client.patch(
        f"/v1/grading/indicators/{indicator['id']}",
        json={"active": False},
        headers={"if-match": '"2"'},
    )
    assert retired.status_code == 200 and retired.json()["active"] is False
    assert indicator["id"] not in {i["id"] for i in await indicators(client)}
    assert indicator["id"] in {i["id"] for i in await indicators(client, include_inactive=True)}
    deleted = await client.delete(f"/v1/grading/indicators/{indicator['id']}")
    assert deleted.status_code == 405  # retire, never delete: evaluations point at it


async def test_indicator_changes_need_the_current_version(client) -> None:
    indicator = (await indicators(client))[0]
    url = f"/v1/grading/indicators/{indicator['id']}"
    assert (await client.patch(url, json={"weight": "30"})).status_code == 428
    assert (await client.patch(url, json={"weight": "30", "version": 1})).status_code == 200
    stale = await client.patch(url, json={"weight": "35", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["type"].endswith("stale-version")
    assert D((await indicators(client))[0]["weight"]) == D(30)


async def test_indicator_rules_name_the_field(client) -> None:
    taken = await client.post(
        "/v1/grading/indicators", json={"name_zh": "年采购额", "name_en": "Again", "weight": "5"}
    )
    assert taken.status_code == 409
    for bad in ({"weight": "0"}, {"weight": "-5"}, {"max_score": "0"}, {"weight": "1.234"}):
        response = await client.post(
            "/v1/grading/indicators",
            json={"name_zh": "新指标", "name_en": "New", "weight": "5", **bad},
        )
        assert response.status_code == 422, bad
        assert {e["field"] for e in response.json()["errors"]} == {f"body.{next(iter(bad))}"}
    first = (await indicators(client))[0]
    nulled = await client.patch(
        f"/v1/grading/indicators/{first['id']}", json={"name_zh": None, "version": 1}
    )
    assert nulled.status_code == 422
    renamed = await client.patch(
        f"/v1/grading/indicators/{first['id']}", json={"name_zh": "合作年限", "version": 1}
    )
    assert renamed.status_code == 409


@pytest.mark.parametrize("role", ["sales_manager", "sales_rep", "viewer"])
async def test_only_admins_administer_indicators_and_policy(as_user, client, role) -> None:
    someone = as_user("someone", role)
    indicator = (await indicators(client))[0]
    assert (await someone.get("/v1/grading/indicators")).status_code == 200
    assert (await someone.get("/v1/grading/policy")).status_code == 200
    created = await someone.post(
        "/v1/grading/indicators", json={"name_zh": "新指标", "name_en": "New", "weight": "5"}
    )
    assert created.status_code == 403
    patched = await someone.patch(
        f"/v1/grading/indicators/{indicator['id']}", json={"active": False, "version": 1}
    )
    assert patched.status_code == 403
    policy = (await client.get("/v1/grading/policy")).json()
    put = await someone.put(
        "/v1/grading/policy", json={**_policy_body(policy), "grade_a_min": "90"}
    )
    assert put.status_code == 403
    assert (await indicators(client))[0]["active"] is True


# --- policy -------------------------------------------------------------------------------


def _policy_body(policy: dict) -> dict:
    keys = ("grade_a_min", "grade_b_min", "terminate_below", "recommendations", "version")
    return {k: policy[k] for k in keys}


async def test_default_policy_and_replacing_it(client) -> None:
    policy = (await client.get("/v1/grading/policy")).json()
    assert (D(policy["grade_a_min"]), D(policy["grade_b_min"]), D(policy["terminate_below"])) == (
        D(85),
        D(60),
        D(40),
    )
    assert policy["recommendations"] == {"A": "maintain", "B": "improve", "C": "improve"}

    body = {
        **_policy_body(policy),
        "grade_a_min": "90",
        "recommendations": {"A": "maintain", "B": "maintain", "C": "terminate"},
    }
    replaced = await client.put("/v1/grading/policy", json=body)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["version"] == 2 and replaced.json()["updated_by"] == "u-admin"
    assert D((await client.get("/v1/grading/policy")).json()["grade_a_min"]) == D(90)

    stale = await client.put("/v1/grading/policy", json=body)  # still version 1
    assert stale.status_code == 409


async def test_an_inconsistent_policy_is_refused_naming_the_field(client) -> None:
    policy = (await client.get("/v1/grading/policy")).json()
    for change, field in (
        ({"grade_b_min": "85"}, "body.grade_b_min"),
        ({"terminate_below": "70"}, "body.terminate_below"),
        ({"grade_a_min": "120"}, "body.grade_a_min"),
        ({"recommendations": {"A": "maintain", "B": "improve"}}, "body.recommendations.C"),
    ):
        response = await client.put("/v1/grading/policy", json={**_policy_body(policy), **change})
        assert response.status_code == 422, change
        assert field in {e["field"] for e in response.json()["errors"]}
    assert (await client.get("/v1/grading/policy")).json()["version"] == 1


# --- evaluations --------------------------------------------------------------------------


async def test_an_evaluation_scores_stores_and_sets_the_grade(client) -> None:
    customer = await create_customer(client)
    scores = {"年采购额": "95", "合作年限": "80", "合作深度": "90", "客户满意度": "85",
              "发展潜力": "70", "付款信用": "100"}  # fmt: skip
    response = await evaluate(client, customer, await form(client, scores, comment="年度评估"))
    assert response.status_code == 201, response.text
    evaluation = response.json()
    # 23.75 + 12 + 18 + 12.75 + 10.5 + 10 = 87.00
    assert evaluation["total"] == "87.00"
    assert (evaluation["grade"], evaluation["recommendation"]) == ("A", "maintain")
    assert evaluation["computed_recommendation"] == "maintain"
    assert evaluation["previous_grade"] is None and evaluation["comment"] == "年度评估"
    assert evaluation["evaluated_by"] == "u-admin"
    lines = {s["name_zh"]: s for s in evaluation["scores"]}
    assert D(lines["年采购额"]["points"]) == D("23.75") and D(lines["年采购额"]["weight"]) == 25
    assert lines["合作年限"]["basis"] == "依据: 合作年限"
    assert evaluation["policy"]["grade_a_min"] == "85.00"

    fetched = (await client.get(f"/v1/customers/{customer['id']}")).json()
    assert fetched["grade"] == "A"
    assert fetched["version"] == customer["version"] + 1 == evaluation["customer_version"]
    assert (await client.get(f"/v1/grading/evaluations/{evaluation['id']}")).json() == evaluation


async def test_grading_stages_customer_updated_and_customer_graded(client) -> None:
    customer = await create_customer(client)
    first = (await evaluate(client, customer, await form(client, "70"))).json()
    second = (await evaluate(client, customer, await form(client, "30"))).json()

    graded = await outbox_events(client, "customer.graded")
    assert [e["data"]["evaluation_id"] for e in graded] == [first["id"], second["id"]]
    data = graded[1]["data"]
    assert (data["total"], data["grade"], data["previous_grade"]) == ("30.00", "C", "B")
    assert data["recommendation"] == "terminate"
    assert data["customer"]["id"] == customer["id"] and data["customer"]["grade"] == "C"
    assert data["customer"]["version"] == customer["version"] + 2
    assert graded[1]["subject"] == customer["id"]
    updated = [e["data"] for e in await outbox_events(client, "customer.updated")]
    assert [u["grade"] for u in updated] == ["B", "C"]


async def test_every_active_indicator_must_be_scored_within_its_scale(client) -> None:
    customer = await create_customer(client)
    body = await form(client)

    missing = await evaluate(client, customer, {"scores": body["scores"][1:]})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.scores"
    assert "年采购额" in missing.json()["detail"]

    too_high = {"scores": [{**body["scores"][0], "score": "100.01"}, *body["scores"][1:]]}
    response = await evaluate(client, customer, too_high)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.scores.0.score"

    negative = {"scores": [*body["scores"][:-1], {**body["scores"][-1], "score": "-1"}]}
    response = await evaluate(client, customer, negative)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("body.scores.5.score")

    twice = {"scores": [*body["scores"], body["scores"][0]]}
    response = await evaluate(client, customer, twice)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.scores.6.indicator_id"

    unknown = {"scores": [*body["scores"], {"indicator_id": str(uuid.uuid4()), "score": "1"}]}
    response = await evaluate(client, customer, unknown)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.scores.6.indicator_id"

    assert (await client.get(f"/v1/customers/{customer['id']}/evaluations")).json()["total"] == 0
    assert (await client.get(f"/v1/customers/{customer['id']}")).json()["grade"] is None
    assert await outbox_events(client, "customer.graded") == []


async def test_a_scale_other_than_100_and_retired_indicators(client) -> None:
    customer = await create_customer(client)
    retired = (await indicators(client))[-1]  # 付款信用, weight 10
    await client.patch(
        f"/v1/grading/indicators/{retired['id']}", json={"active": False, "version": 1}
    )
    small = await client.post(
        "/v1/grading/indicators",
        json={"name_zh": "转介绍贡献", "name_en": "Referrals", "weight": "10", "max_score": "5"},
    )
    assert small.status_code == 201
    body = await form(client, {**{i["name_zh"]: "60" for i in await indicators(client)},
                               "转介绍贡献": "5"})  # fmt: skip
    response = await evaluate(client, customer, body)
    assert response.status_code == 201, response.text
    assert response.json()["total"] == "64.00"  # 0.6 * 90 + 1.0 * 10
    assert retired["id"] not in {s["indicator_id"] for s in response.json()["scores"]}

    with_retired = {"scores": [*body["scores"], {"indicator_id": retired["id"], "score": "50"}]}
    refused = await evaluate(client, customer, with_retired)
    assert refused.status_code == 422
    assert "not an active grading indicator" in refused.json()["detail"]


async def test_overriding_the_recommendation_needs_a_reason(client) -> None:
    customer = await create_customer(client)
    body = await form(client, "30", recommendation="improve")  # the rules say terminate
    refused = await evaluate(client, customer, body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.recommendation_reason"

    body["recommendation_reason"] = "新项目刚签约、下季度采购额会回升"
    accepted = await evaluate(client, customer, body)
    assert accepted.status_code == 201, accepted.text
    evaluation = accepted.json()
    assert (evaluation["recommendation"], evaluation["computed_recommendation"]) == (
        "improve",
        "terminate",
    )
    assert evaluation["recommendation_reason"] == body["recommendation_reason"]
    graded = (await outbox_events(client, "customer.graded"))[0]["data"]
    assert graded["recommendation"] == "improve"

    same = await evaluate(client, customer, await form(client, "30", recommendation="terminate"))
    assert same.status_code == 201  # agreeing with the rules needs no reason


async def test_history_keeps_what_was_used_when_indicators_and_policy_change(client) -> None:
    customer = await create_customer(client)
    first = (await evaluate(client, customer, await form(client, "86"))).json()
    assert first["grade"] == "A"

    indicator = (await indicators(client))[0]
    await client.patch(
        f"/v1/grading/indicators/{indicator['id']}",
        json={"name_zh": "年度采购金额", "weight": "50", "version": 1},
    )
    policy = (await client.get("/v1/grading/policy")).json()
    await client.put("/v1/grading/policy", json={**_policy_body(policy), "grade_a_min": "90"})

    second = (await evaluate(client, customer, await form(client, "86"))).json()
    assert (second["grade"], second["previous_grade"]) == ("B", "A")
    assert second["policy"]["grade_a_min"] == "90.00" and second["policy"]["version"] == 2

    history = (await client.get(f"/v1/customers/{customer['id']}/evaluations")).json()
    assert history["total"] == 2
    assert [e["id"] for e in history["items"]] == [second["id"], first["id"]]  # newest first
    old = history["items"][1]
    assert old == first
    assert old["scores"][0]["name_zh"] == "年采购额" and D(old["scores"][0]["weight"]) == 25
    assert old["policy"]["grade_a_min"] == "85.00"

    page = (
        await client.get(
            f"/v1/customers/{customer['id']}/evaluations", params={"page": 2, "page_size": 1}
        )
    ).json()
    assert (page["total"], [e["id"] for e in page["items"]]) == (2, [first["id"]])


async def test_a_stale_customer_version_or_an_archived_customer_is_refused(client) -> None:
    customer = await create_customer(client)
    await client.patch(f"/v1/customers/{customer['id']}", json={"remarks": "x", "version": 1})
    stale = await evaluate(client, customer, await form(client, version=1))
    assert stale.status_code == 409
    assert (await evaluate(client, customer, await form(client, version=2))).status_code == 201

    await client.post(f"/v1/customers/{customer['id']}/archive")
    archived = await evaluate(client, customer, await form(client))
    assert archived.status_code == 409
    assert archived.json()["type"].endswith("customer-archived")


async def test_without_active_indicators_nothing_can_be_evaluated(client) -> None:
    customer = await create_customer(client)
    for indicator in await indicators(client):
        await client.patch(
            f"/v1/grading/indicators/{indicator['id']}", json={"active": False, "version": 1}
        )
    response = await evaluate(
        client, customer, {"scores": [{"indicator_id": str(uuid.uuid4()), "score": "1"}]}
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("no-active-indicators")


async def test_a_repeated_evaluation_with_the_same_idempotency_key_counts_once(client) -> None:
    customer = await create_customer(client)
    body = await form(client, "75")
    headers = {"idempotency-key": "eval-1"}
    first = await evaluate(client, customer, body, headers=headers)
    again = await evaluate(client, customer, body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replay") == "true"
    assert again.json() == first.json()
    assert (await client.get(f"/v1/customers/{customer['id']}/evaluations")).json()["total"] == 1
    assert len(await outbox_events(client, "customer.graded")) == 1


# --- who may evaluate and read ------------------------------------------------------------


async def test_a_rep_evaluates_only_their_own_customers(client, as_user) -> None:
    alice, bob = as_user("alice", "sales_rep"), as_user("bob", "sales_rep")
    alices = await create_customer(client, owner_id="alice")
    bobs = await create_customer(client, owner_id="bob")

    own = await evaluate(alice, alices, await form(client, "65"))
    assert own.status_code == 201, own.text
    assert own.json()["evaluated_by"] == "alice"

    other = await evaluate(alice, bobs, await form(client, "65"))
    assert other.status_code == 404
    assert (await client.get(f"/v1/customers/{bobs['id']}")).json()["grade"] is None

    mine = await evaluate(bob, bobs, await form(client, "50"))
    assert mine.status_code == 201
    assert (await alice.get(f"/v1/customers/{bobs['id']}/evaluations")).status_code == 404
    assert (await alice.get(f"/v1/grading/evaluations/{mine.json()['id']}")).status_code == 404
    assert (await bob.get(f"/v1/grading/evaluations/{mine.json()['id']}")).status_code == 200


async def test_a_manager_evaluates_any_customer(client, as_user) -> None:
    manager = as_user("mgr", "sales_manager")
    bobs = await create_customer(client, owner_id="bob")
    response = await evaluate(manager, bobs, await form(client, "90"))
    assert response.status_code == 201
    assert (await client.get(f"/v1/customers/{bobs['id']}")).json()["grade"] == "A"


@pytest.mark.parametrize("role", ["viewer", "service_agent", "service_supervisor"])
async def test_readers_see_evaluations_but_cannot_evaluate(client, as_user, role) -> None:
    reader = as_user("reader", role)
    customer = await create_customer(client, owner_id="bob")
    evaluation = (await evaluate(client, customer, await form(client, "70"))).json()

    refused = await evaluate(reader, customer, await form(client, "90"))
    assert refused.status_code == 403
    history = await reader.get(f"/v1/customers/{customer['id']}/evaluations")
    assert history.status_code == 200 and history.json()["total"] == 1
    assert (await reader.get(f"/v1/grading/evaluations/{evaluation['id']}")).status_code == 200


async def test_unknown_evaluations_and_customers_are_404(client) -> None:
    assert (await client.get(f"/v1/grading/evaluations/{uuid.uuid4()}")).status_code == 404
    assert (await client.get(f"/v1/customers/{uuid.uuid4()}/evaluations")).status_code == 404
    missing = await client.post(
        f"/v1/customers/{uuid.uuid4()}/evaluations", json=await form(client)
    )
    assert missing.status_code == 404


async def test_a_rep_cannot_set_a_grade_by_hand_a_manager_can(client, as_user) -> None:
    alice = as_user("alice", "sales_rep")
    alices = await create_customer(client, owner_id="alice")
    url = f"/v1/customers/{alices['id']}"
    by_hand = await alice.patch(url, json={"grade": "A", "version": 1})
    assert by_hand.status_code == 403
    unchanged = await alice.patch(url, json={"grade": None, "remarks": "ok", "version": 1})
    assert unchanged.status_code == 200  # sending the grade back as it is is no change
    created = await alice.post("/v1/customers", json=enterprise_body(grade="A"))
    assert created.status_code == 403

    manager = as_user("mgr", "sales_manager")
    assert (await manager.patch(url, json={"grade": "B", "version": 2})).status_code == 200
    assert (await client.get(url)).json()["grade"] == "B"
