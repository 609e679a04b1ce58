# ruff: noqa: F811 (pytest fixtures imported from desk_fixtures)
"""The supervisor's reports: the weekly complaint review, SLA compliance, volume by type and
priority, CSAT per agent and period; and the knowledge base's suggestions for a ticket."""

from __future__ import annotations

import httpx

from crm_service_desk.settings import Settings

from .desk_fixtures import START, api, checker, clock, quiet_settings, sessions  # noqa: F401
from .factories import (
    AGENT,
    PUBLIC,
    SUPERVISOR,
    VIEWER,
    act,
    open_ticket,
    rep,
    save_agent,
    save_team,
    seed_customer,
    staged,
)


async def _complaint(api, customer_id, clock, *, cause: str | None, hours: float | None):
    ticket = await open_ticket(api, customer_id, ticket_type="complaint", cause=cause)
    if hours is not None:
        clock.advance(hours=hours)
        ticket = await act(api, ticket, "resolve", resolution="已向客户道歉并补发配件")
        clock.advance(hours=-hours)
    return ticket


async def test_the_weekly_complaint_review_groups_by_cause_with_time_to_resolve(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await save_team(api, supervisor_id="u-sup")
    customer = await seed_customer(quiet_settings.database_url)
    await _complaint(api, customer["id"], clock, cause="delivery_delay", hours=2)
    await _complaint(api, customer["id"], clock, cause="delivery_delay", hours=6)
    await _complaint(api, customer["id"], clock, cause="product_quality", hours=None)
    await _complaint(api, customer["id"], clock, cause=None, hours=1)
    await open_ticket(api, customer["id"])  # not a complaint
    response = await api.get(
        "/v1/service-desk/reports/complaints", params={"week_of": "2026-06-03"}, headers=SUPERVISOR
    )
    assert response.status_code == 200, response.text
    review = response.json()
    assert review["period"] == {"date_from": "2026-06-01", "date_to": "2026-06-07"}
    assert (review["total"], review["resolved"], review["open"]) == (4, 3, 1)
    by_cause = {row["cause"]: row for row in review["by_cause"]}
    assert by_cause["delivery_delay"]["count"] == 2
    assert by_cause["delivery_delay"]["avg_hours_to_resolve"] == 4.0
    assert by_cause["product_quality"]["resolved"] == 0
    assert by_cause["unspecified"]["median_hours_to_resolve"] == 1.0
    assert review["by_cause"][0]["cause"] == "delivery_delay"
    last_week = await api.get(
        "/v1/service-desk/reports/complaints", params={"week_of": "2026-05-27"}, headers=SUPERVISOR
    )
    assert last_week.json()["total"] == 0


async def test_sla_compliance_counts_met_breached_and_running_clocks(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    on_time = await open_ticket(api, customer["id"])
    await act(api, on_time, "assign", assignee_id="u-agent")  # assign met
    late = await open_ticket(api, customer["id"])
    clock.advance(hours=2)  # the second one's assign clock (1 h) is now past due, running
    response = await api.get("/v1/service-desk/reports/sla", headers=SUPERVISOR)
    assert response.status_code == 200, response.text
    assign = next(row for row in response.json()["clocks"] if row["kind"] == "assign")
    assert (assign["clocks"], assign["met"], assign["breached"], assign["running"]) == (2, 1, 1, 0)
    assert assign["compliance_percent"] == 50.0
    assert late["code"]


async def test_volume_by_type_and_priority(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    await open_ticket(api, customer["id"], ticket_type="consultation", priority="low")
    await open_ticket(api, customer["id"], ticket_type="consultation", priority="low")
    await open_ticket(api, customer["id"], ticket_type="complaint")
    response = await api.get("/v1/service-desk/reports/volume", headers=VIEWER)
    volume = response.json()
    assert volume["total"] == 3
    assert volume["by_type"] == {"consultation": 2, "complaint": 1}
    assert volume["by_priority"] == {"low": 2, "high": 1}
    assert {"ticket_type": "consultation", "priority": "low", "count": 2} in volume[
        "by_type_and_priority"
    ]
    assert (
        await api.get("/v1/service-desk/reports/volume", headers=rep("u-rep-1"))
    ).status_code == 403
    bad = await api.get(
        "/v1/service-desk/reports/volume",
        params={"date_from": "2026-06-05", "date_to": "2026-06-01"},
        headers=VIEWER,
    )
    assert bad.status_code == 422


async def test_csat_per_agent_and_week(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await save_agent(api, "u-a", ["tech_support"])
    await save_agent(api, "u-b", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    for agent, score in (("u-a", 5), ("u-a", 3), ("u-b", 4), ("u-b", None)):
        ticket = await open_ticket(api, customer["id"])
        ticket = await act(api, ticket, "assign", assignee_id=agent)
        ticket = await act(api, ticket, "resolve", resolution="远程处理完成")
        ticket = await act(api, ticket, "close")
        token = (await staged(quiet_settings.database_url, "ticket.closed"))[-1]["survey"]["token"]
        if score is not None:
            answered = await api.post(f"/v1/surveys/{token}", json={"score": score}, headers=PUBLIC)
            assert answered.status_code == 200
    response = await api.get(
        "/v1/service-desk/reports/csat", params={"bucket": "week"}, headers=SUPERVISOR
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["surveys_sent"] == 4 and report["response_rate_percent"] == 75.0
    assert report["overall"] == {"answers": 3, "average_score": 4.0, "csat_percent": 66.7}
    assert report["by_agent"]["u-a"] == {"answers": 2, "average_score": 4.0, "csat_percent": 50.0}
    assert report["by_agent"]["u-b"]["csat_percent"] == 100.0
    assert list(report["by_bucket"]) == ["2026-06-01"]
    mine = await api.get("/v1/service-desk/reports/csat", params={"agent_id": "u-b"}, headers=AGENT)
    assert mine.json()["overall"]["answers"] == 1


async def test_a_ticket_suggests_knowledge_base_articles(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    article = await api.post(
        "/v1/kb/articles",
        json={
            "question": "打印机卡纸怎么处理?",
            "answer": "先关闭电源, 打开后盖取出卡住的纸张, 再检查进纸器是否有异物。",
            "tags": ["打印机"],
            "status": "published",
        },
        headers=AGENT,
    )
    assert article.status_code == 201, article.text
    customer = await seed_customer(quiet_settings.database_url, owner_id="u-rep-1")
    ticket = await open_ticket(
        api,
        customer["id"],
        description="客户的打印机频繁卡纸, 已影响开票",
        ticket_type="tech_support",
    )
    found = await api.get(f"/v1/tickets/{ticket['id']}/suggestions", headers=AGENT)
    assert found.status_code == 200, found.text
    assert [a["id"] for a in found.json()] == [article.json()["id"]]
    other = await api.get(f"/v1/tickets/{ticket['id']}/suggestions", headers=rep("u-rep-2"))
    assert other.status_code == 404
