# ruff: noqa: F811 (pytest fixtures imported from engagement_fixtures)
"""Follow-ups through the HTTP API on PostgreSQL: every field and its validation, a rep's
own customers only, history with filters and pages, action items, XLSX export, idempotent
create, the settings an admin changes, plan tasks completed by a follow-up."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from openpyxl import load_workbook

from crm_platform.testing import fetch

from .engagement_fixtures import START, api, clock, handlers, quiet_settings, sessions  # noqa: F401
from .factories import (
    ADMIN,
    MANAGER,
    VIEWER,
    apply,
    customer_state,
    event,
    followup_body,
    headers,
    log_followup,
)

REP = headers()
OTHER_REP = headers(subject="u-rep2")


async def _customer(sessions, handlers, **kwargs) -> uuid.UUID:  # type: ignore[no-untyped-def]
    state = customer_state(**kwargs)
    await apply(
        sessions, handlers, event("customer.created", state, time=START - timedelta(days=1))
    )
    return uuid.UUID(state["id"])


async def test_a_follow_up_with_every_field(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    user = {
        "id": "u-rep",
        "username": "wang",
        "display_name": "王伟",
        "roles": ["sales_rep"],
        "active": True,
        "version": 1,
    }
    await apply(sessions, handlers, event("user.created", user, service="gateway"))
    contact, opportunity = uuid.uuid4(), uuid.uuid4()
    body = followup_body(
        customer,
        contact_id=str(contact),
        occurred_on="2026-05-30",
        method="visit",
        feedback="positive",
        outcome="priority",
        next_follow_up_at="2026-06-05T10:00:00+08:00",
        opportunity_id=str(opportunity),
        action_items=[
            {"action": "发送报价方案", "due_on": "2026-06-03"},
            {"action": "安排技术交流", "assignee_id": "u-engineer"},
        ],
    )
    response = await api.post("/v1/follow-ups", json=body, headers=REP)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["follower_id"] == "u-rep" and created["follower_name"] == "王伟"
    assert created["occurred_on"] == "2026-05-30" and created["outcome"] == "priority"
    assert created["contact_id"] == str(contact) and created["opportunity_id"] == str(opportunity)
    assert [(i["action"], i["assignee_id"], i["done"]) for i in created["action_items"]] == [
        ("发送报价方案", "u-rep", False),
        ("安排技术交流", "u-engineer", False),
    ]
    read = await api.get(f"/v1/follow-ups/{created['id']}", headers=REP)
    assert read.json() == created

    # followup.logged staged with the fields customers reads; reminders scheduled
    rows = await fetch(
        api_url(sessions), "SELECT body FROM outbox_message WHERE routing_key = 'followup.logged'"
    )
    assert len(rows) == 1 and '"feedback":"positive"' in rows[0]["body"].replace(" ", "")
    reminders = await fetch(
        api_url(sessions), "SELECT kind, recipient_id, due_at FROM reminder ORDER BY kind"
    )
    by_kind = {r["kind"]: r for r in reminders}
    # the day of the next follow-up at 09:00 Shanghai; the item the day after its due date
    assert by_kind["next_follow_up"]["due_at"].isoformat() == "2026-06-05T01:00:00+00:00"
    assert by_kind["action_item_overdue"]["due_at"].isoformat() == "2026-06-04T01:00:00+00:00"
    assert by_kind["next_follow_up"]["recipient_id"] == "u-rep"


def api_url(sessions) -> str:  # type: ignore[no-untyped-def]
    return sessions.kw["bind"].url.render_as_string(hide_password=False)


async def test_what_is_refused(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    cases = [
        ({"summary": "联系了"}, "body.summary"),
        ({"summary": "contacted"}, "body.summary"),
        ({"next_follow_up_at": "2026-05-31T09:00:00+08:00"}, "body.next_follow_up_at"),
        ({"next_follow_up_at": "2026-06-09T09:00:00"}, "body.next_follow_up_at"),  # naive
        ({"occurred_on": "2026-06-02"}, "body.occurred_on"),
        ({"method": "system"}, "body.method"),
        ({"method": "fax"}, "body.method"),
        ({"feedback": "great"}, "body.feedback"),
        ({"outcome": "maybe"}, "body.outcome"),
        ({"customer_id": "not-a-uuid"}, "body.customer_id"),
    ]
    for overrides, field in cases:
        response = await api.post(
            "/v1/follow-ups", json=followup_body(customer, **overrides), headers=REP
        )
        assert response.status_code == 422, (overrides, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    unknown = await api.post("/v1/follow-ups", json=followup_body(uuid.uuid4()), headers=REP)
    assert unknown.status_code == 404


async def test_a_rep_works_only_their_own_customers(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    mine = await _customer(sessions, handlers, owner_id="u-rep")
    theirs = await _customer(sessions, handlers, owner_id="u-rep2")
    await log_followup(api, mine)
    await log_followup(api, theirs, as_=OTHER_REP)
    assert (
        await api.post("/v1/follow-ups", json=followup_body(theirs), headers=REP)
    ).status_code == 404
    assert (
        await api.get("/v1/follow-ups", params={"customer_id": str(theirs)}, headers=REP)
    ).status_code == 404
    everything = (await api.get("/v1/follow-ups", headers=REP)).json()
    assert {i["customer_id"] for i in everything["items"]} == {str(mine)}
    other = (await api.get("/v1/follow-ups", headers=OTHER_REP)).json()["items"][0]
    assert (await api.get(f"/v1/follow-ups/{other['id']}", headers=REP)).status_code == 404
    # managers see and log all; viewers read but never write
    assert (await api.get("/v1/follow-ups", headers=MANAGER)).json()["total"] == 2
    await log_followup(api, theirs, as_=MANAGER, follower_id="u-rep2")
    assert (await api.get("/v1/follow-ups", headers=VIEWER)).json()["total"] == 3
    assert (
        await api.post("/v1/follow-ups", json=followup_body(mine), headers=VIEWER)
    ).status_code == 403


async def test_history_newest_first_with_filters_and_pages(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    for day, method, follower, outcome in [
        ("2026-05-01", "phone", "u-rep", "continue"),
        ("2026-05-20", "visit", "u-rep", "priority"),
        ("2026-05-10", "email", "u-helper", "continue"),
        ("2026-06-01", "phone", "u-rep", "priority"),
    ]:
        await log_followup(
            api, customer, occurred_on=day, method=method, follower_id=follower, outcome=outcome
        )
    url = "/v1/follow-ups"
    base = {"customer_id": str(customer)}
    days = [
        i["occurred_on"] for i in (await api.get(url, params=base, headers=REP)).json()["items"]
    ]
    assert days == ["2026-06-01", "2026-05-20", "2026-05-10", "2026-05-01"]
    phone = (await api.get(url, params={**base, "method": "phone"}, headers=REP)).json()
    assert [i["occurred_on"] for i in phone["items"]] == ["2026-06-01", "2026-05-01"]
    span = {**base, "occurred_from": "2026-05-05", "occurred_to": "2026-05-31"}
    assert (await api.get(url, params=span, headers=REP)).json()["total"] == 2
    helper = (await api.get(url, params={**base, "follower_id": "u-helper"}, headers=REP)).json()
    assert [i["method"] for i in helper["items"]] == ["email"]
    priority = (await api.get(url, params={**base, "outcome": "priority"}, headers=REP)).json()
    assert [i["occurred_on"] for i in priority["items"]] == ["2026-06-01", "2026-05-20"]
    assert (await api.get(url, params={**base, "outcome": "maybe"}, headers=REP)).status_code == 422
    page2 = (await api.get(url, params={**base, "page": 2, "page_size": 3}, headers=REP)).json()
    assert page2["total"] == 4 and [i["occurred_on"] for i in page2["items"]] == ["2026-05-01"]
    backwards = {**base, "occurred_from": "2026-06-01", "occurred_to": "2026-05-01"}
    assert (await api.get(url, params=backwards, headers=REP)).status_code == 422


async def test_export_to_xlsx(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    await log_followup(
        api,
        customer,
        method="wechat",
        summary="=微信沟通了交付时间和付款方式",
        action_items=[{"action": "确认合同条款", "due_on": "2026-06-10"}],
    )
    await log_followup(api, customer, occurred_on="2026-05-01")
    response = await api.get(
        "/v1/follow-ups/export", params={"customer_id": str(customer)}, headers=REP
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "跟进日期 Date" and len(rows) == 3
    assert rows[1][0] == "2026-06-01" and rows[1][3] == "微信"
    assert rows[1][4].startswith("'=")  # never a formula
    assert "确认合同条款" in rows[1][9]
    other = await _customer(sessions, handlers, owner_id="u-rep2")
    assert (
        await api.get("/v1/follow-ups/export", params={"customer_id": str(other)}, headers=REP)
    ).status_code == 404


async def test_action_items_are_marked_done(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    created = await log_followup(
        api, customer, action_items=[{"action": "发送报价", "due_on": "2026-06-03"}]
    )
    item = created["action_items"][0]
    url = f"/v1/action-items/{item['id']}"
    assert (await api.patch(url, json={"done": True}, headers=REP)).status_code == 428
    done = await api.patch(url, json={"done": True, "version": 1}, headers=REP)
    assert done.status_code == 200 and done.json()["done"] and done.json()["version"] == 2
    stale = await api.patch(url, json={"done": False, "version": 1}, headers=REP)
    assert stale.status_code == 409
    assert (await api.patch(url, json={"done": None, "version": 2}, headers=REP)).status_code == 422
    assert (await api.patch(url, json={"done": False}, headers=OTHER_REP)).status_code in (404, 428)
    pending = await fetch(
        api_url(sessions),
        "SELECT count(*) AS n FROM reminder WHERE kind = 'action_item_overdue' "
        "AND cancelled_at IS NULL",
    )
    assert pending[0]["n"] == 0  # done: no overdue reminder
    listed = (await api.get("/v1/action-items", params={"done": "true"}, headers=REP)).json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]


async def test_create_is_idempotent(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers)
    key = {"idempotency-key": "abc-123", **REP}
    first = await api.post("/v1/follow-ups", json=followup_body(customer), headers=key)
    again = await api.post("/v1/follow-ups", json=followup_body(customer), headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert (await api.get("/v1/follow-ups", headers=REP)).json()["total"] == 1


async def test_settings_are_the_admins(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    url = "/v1/engagement/settings"
    defaults = (await api.get(url, headers=REP)).json()
    assert defaults["version"] == 0 and defaults["reminder_hour"] == 9
    assert defaults["cadence_days"] == {"A": 7, "B": 14, "C": 30}
    assert defaults["timezone"] == "Asia/Shanghai" and defaults["summary_min_length"] == 10
    assert (
        await api.patch(url, json={"reminder_hour": 8, "version": 0}, headers=MANAGER)
    ).status_code == 403
    assert (
        await api.patch(url, json={"timezone": "Mars/Base", "version": 0}, headers=ADMIN)
    ).status_code == 422
    assert (
        await api.patch(url, json={"reminder_hour": 24, "version": 0}, headers=ADMIN)
    ).status_code == 422
    customer = await _customer(sessions, handlers)
    await log_followup(api, customer, next_follow_up_at="2026-06-05T15:00:00+08:00")
    changed = await api.patch(
        url,
        json={
            "version": 0,
            "reminder_hour": 8,
            "summary_min_length": 20,
            "cadence_days": {"A": 5},
            "plan_templates": {"C": [{"touch": "greeting", "every_months": 3}]},
        },
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["version"] == 1 and body["cadence_days"] == {"A": 5, "B": 14, "C": 30}
    assert body["plan_templates"]["C"] == [{"touch": "greeting", "every_months": 3}]
    assert (
        await api.patch(url, json={"reminder_hour": 7, "version": 0}, headers=ADMIN)
    ).status_code == 409
    # the pending reminder moved to 08:00; the longer minimum applies at once
    due = await fetch(
        api_url(sessions), "SELECT due_at FROM reminder WHERE kind = 'next_follow_up'"
    )
    assert due[0]["due_at"].isoformat() == "2026-06-05T00:00:00+00:00"
    short = await api.post(
        "/v1/follow-ups",
        json=followup_body(customer, summary="电话沟通了采购计划和预算"),
        headers=REP,
    )
    assert short.status_code == 422


async def test_a_follow_up_completes_a_plan_task(api, sessions, handlers) -> None:  # type: ignore[no-untyped-def]
    customer = await _customer(sessions, handlers, grade="C")
    tasks = (
        await api.get("/v1/engagement/plans", params={"customer_id": str(customer)}, headers=REP)
    ).json()
    assert [(t["kind"], t["due_on"]) for t in tasks["items"]] == [
        ("greeting", "2026-12-01"),
        ("greeting", "2027-06-01"),
    ]  # graded C today (1 June, Shanghai): half-yearly from today
    task = tasks["items"][0]
    logged = await log_followup(api, customer, method="sms", plan_task_id=task["id"])
    assert logged["plan_task_id"] == task["id"]
    done = (
        await api.get(
            "/v1/engagement/plans",
            params={"customer_id": str(customer), "status": "done"},
            headers=REP,
        )
    ).json()
    assert done["items"][0]["followup_id"] == logged["id"]
    again = await api.post(
        "/v1/follow-ups", json=followup_body(customer, plan_task_id=task["id"]), headers=REP
    )
    assert again.status_code == 409
    other = await _customer(sessions, handlers, grade="C")
    wrong = await api.post(
        "/v1/follow-ups",
        json=followup_body(other, plan_task_id=tasks["items"][1]["id"]),
        headers=REP,
    )
    assert wrong.status_code == 422


async def test_enums_have_labels(api) -> None:  # type: ignore[no-untyped-def]
    enums = (await api.get("/v1/engagement/enums", headers=REP)).json()
    assert {"code": "visit", "zh-CN": "拜访", "en": "Visit"} in enums["followup_method"]
    assert {"code": "priority", "zh-CN": "需重点跟进", "en": "Priority"} in enums[
        "followup_outcome"
    ]
