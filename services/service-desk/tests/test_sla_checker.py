# ruff: noqa: F811 (pytest fixtures imported from desk_fixtures)
"""The SLA checker: warnings at 80% and breaches at 100%, each published once per clock, even
with two checkers at once; clocks paused while waiting on the customer; a breach found when a
clock stops late; callbacks after repairs. Time moves on a fake clock, never by sleeping."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from crm_platform.events.outbox import OutboxMessage
from crm_platform.metrics import REGISTRY
from crm_service_desk.domain.sla_checker import SlaChecker
from crm_service_desk.settings import Settings

from .desk_fixtures import START, api, checker, clock, quiet_settings, sessions  # noqa: F401
from .factories import AGENT, PUBLIC, act, open_ticket, save_agent, save_team, seed_customer, staged


async def test_a_complaint_warns_at_80_percent_and_breaches_at_100_once_each(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], ticket_type="complaint", mood="agitated")
    url = quiet_settings.database_url
    clock.advance(minutes=7)  # 70% of the 10-minute assign target
    assert (await checker.check_once()).warnings == 0
    clock.advance(minutes=1)  # 80%
    report = await checker.check_once()
    assert (report.warnings, report.breaches) == (1, 0)
    assert await checker.check_once() == type(report)(0, 0, 0)
    warning = (await staged(url, "ticket.sla_warning"))[0]
    assert (warning["kind"], warning["code"], warning["target_minutes"]) == (
        "assign",
        ticket["code"],
        10,
    )
    clock.advance(minutes=2)  # 100% of assign; first response (30 min) at a third
    report = await checker.check_once()
    assert (report.warnings, report.breaches) == (0, 1)
    clock.advance(minutes=15)  # 25 min: 83% of the first-response target
    assert (await checker.check_once()).warnings == 1
    kinds = [(e["kind"]) for e in await staged(url, "ticket.sla_warning")]
    assert kinds == ["assign", "first_response"]
    assert [e["kind"] for e in await staged(url, "ticket.sla_breached")] == ["assign"]
    shown = (await api.get(f"/v1/tickets/{ticket['id']}", headers=AGENT)).json()
    statuses = {c["kind"]: c["status"] for c in shown["sla"]}
    assert statuses == {"assign": "breached", "first_response": "warning", "resolve": "running"}


async def test_a_clock_past_due_before_the_checker_ran_breaches_without_a_warning(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    await open_ticket(api, customer["id"], ticket_type="complaint")
    clock.advance(minutes=12)  # the checker was down across both moments of the assign clock
    report = await checker.check_once()
    assert (report.warnings, report.breaches) == (0, 1)


async def test_waiting_on_the_customer_pauses_the_clocks(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], priority="high")  # resolve in 24 h
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")
    ticket = await act(api, ticket, "log", as_=AGENT, note="已联系客户", contacted_customer=True)
    due = next(c for c in ticket["sla"] if c["kind"] == "resolve")["due_at"]
    clock.advance(hours=2)
    ticket = await act(api, ticket, "wait", as_=AGENT, note="等待客户提供日志")
    resolve = next(c for c in ticket["sla"] if c["kind"] == "resolve")
    assert resolve["status"] == "paused" and resolve["due_at"] is None
    clock.advance(hours=30)  # past the original due moment, but waiting on the customer
    assert (await checker.check_once()).breaches == 0
    ticket = await act(api, ticket, "resume", as_=AGENT)
    resolve = next(c for c in ticket["sla"] if c["kind"] == "resolve")
    assert resolve["status"] == "running"
    moved = _parse(resolve["due_at"]) - _parse(due)
    assert moved == timedelta(hours=30)
    assert resolve["remaining_minutes"] == 22 * 60
    await act(api, ticket, "resume", as_=AGENT, expect=409)


async def test_a_clock_stopped_late_publishes_its_breach_once(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], priority="low")  # assign default 1 h
    clock.advance(minutes=61)
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")  # late, checker not run
    breached = await staged(quiet_settings.database_url, "ticket.sla_breached")
    assert [e["kind"] for e in breached] == ["assign"]
    assert (await checker.check_once()).breaches == 0
    assign = next(c for c in ticket["sla"] if c["kind"] == "assign")
    assert assign["status"] == "missed"


async def test_two_checkers_at_once_publish_each_breach_exactly_once(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, sessions
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    tickets = 120
    for _ in range(tickets):
        await open_ticket(api, customer["id"], ticket_type="complaint")
    clock.advance(minutes=11)  # every assign clock breached, nothing else
    small_batches = quiet_settings.model_copy(update={"sla_batch_size": 7})
    one = SlaChecker(sessions, small_batches, clock)
    two = SlaChecker(sessions, small_batches, clock)
    first, second = await asyncio.gather(one.check_once(), two.check_once())
    assert first.breaches + second.breaches == tickets
    assert first.breaches > 0 and second.breaches > 0  # both did part of the work
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.body).where(OutboxMessage.routing_key == "ticket.sla_breached")
        )
        bodies = [body for (body,) in rows]
    per_clock = Counter(
        (json.loads(body)["data"]["ticket_id"], json.loads(body)["data"]["kind"]) for body in bodies
    )
    assert len(per_clock) == tickets and set(per_clock.values()) == {1}
    again = await asyncio.gather(one.check_once(), two.check_once())
    assert sum(r.breaches for r in again) == 0


async def test_repair_tickets_get_a_callback_when_due(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    await save_agent(api, "u-agent", ["repair"])
    customer = await seed_customer(quiet_settings.database_url)
    ticket = await open_ticket(api, customer["id"], ticket_type="repair")
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")
    ticket = await act(api, ticket, "resolve", as_=AGENT, resolution="上门更换压缩机")
    assert ticket["log"][-1]["action"] == "callback_scheduled"
    clock.advance(days=3, minutes=-1)
    assert (await checker.check_once()).callbacks == 0
    clock.advance(minutes=1)
    assert (await checker.check_once()).callbacks == 1
    assert (await checker.check_once()).callbacks == 0
    [due] = await staged(quiet_settings.database_url, "ticket.callback_due")
    assert (due["assignee_id"], due["code"]) == ("u-agent", ticket["code"])
    listed = await api.get(
        "/v1/service-desk/callbacks", params={"assignee_id": "me"}, headers=AGENT
    )
    [callback] = listed.json()
    done = await api.post(
        f"/v1/service-desk/callbacks/{callback['id']}/done",
        json={"outcome": "客户表示设备运行正常, 非常满意"},
        headers=AGENT,
    )
    assert done.status_code == 200 and done.json()["done_at"] is not None
    again = await api.post(
        f"/v1/service-desk/callbacks/{callback['id']}/done",
        json={"outcome": "重复记录"},
        headers=AGENT,
    )
    assert again.status_code == 409
    shown = (await api.get(f"/v1/tickets/{ticket['id']}", headers=AGENT)).json()
    assert shown["log"][-1]["action"] == "callback_done"


async def test_a_reopened_repair_cancels_its_callback(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    await save_team(api, supervisor_id="u-sup")
    ticket = await open_ticket(api, customer["id"], ticket_type="visit", priority="high")
    ticket = await act(api, ticket, "resolve", resolution="上门调试完成")
    ticket = await act(api, ticket, "reopen", note="客户说仍有异响")
    assert ticket["log"][-1]["details"]["callbacks_cancelled"] == 1
    clock.advance(days=4)
    assert (await checker.check_once()).callbacks == 0


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_open_tickets_are_counted_by_priority(
    api: httpx.AsyncClient, quiet_settings: Settings, checker: SlaChecker
) -> None:
    customer = await seed_customer(quiet_settings.database_url)
    await open_ticket(api, customer["id"], ticket_type="complaint")
    await open_ticket(api, customer["id"], priority="low")
    await open_ticket(api, customer["id"], priority="low")
    await checker.count_open()
    metrics = (await api.get("/metrics")).text
    assert 'crm_tickets_open{priority="low"} 2.0' in metrics
    assert 'crm_tickets_open{priority="high"} 1.0' in metrics


async def _answered(
    api: httpx.AsyncClient, settings: Settings, customer_id: str, score: int
) -> None:
    """A ticket assigned at once, resolved, closed, and its survey answered with ``score``."""
    ticket = await open_ticket(api, customer_id)
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")
    ticket = await act(api, ticket, "resolve", as_=AGENT, resolution="远程重装驱动后恢复")
    ticket = await act(api, ticket, "close", as_=AGENT)
    closed = await staged(settings.database_url, "ticket.closed")
    [token] = [e["survey"]["token"] for e in closed if e["ticket"]["id"] == ticket["id"]]
    answered = await api.post(f"/v1/surveys/{token}", json={"score": score}, headers=PUBLIC)
    assert answered.status_code == 200, answered.text


async def test_a_round_refreshes_the_sla_compliance_and_csat_gauges(
    api: httpx.AsyncClient, quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    await checker.refresh_business_gauges()
    assert math.isnan(REGISTRY.get_sample_value("crm_csat_average_score"))  # nothing answered
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(quiet_settings.database_url)
    await open_ticket(api, customer["id"], ticket_type="complaint")  # assign within 10 minutes
    await _answered(api, quiet_settings, customer["id"], 5)
    await _answered(api, quiet_settings, customer["id"], 2)
    clock.advance(minutes=12)  # the complaint's assign clock runs past due: breached
    await checker.refresh_business_gauges()

    def value(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert value("crm_sla_compliance_ratio", kind="assign") == pytest.approx(2 / 3)
    assert value("crm_sla_compliance_ratio", kind="resolve") == 1.0
    assert value("crm_csat_average_score") == 3.5
    assert value("crm_csat_satisfied_ratio") == 0.5
    metrics = (await api.get("/metrics")).text
    assert 'crm_sla_compliance_ratio{kind="assign"} 0.66' in metrics
    assert "crm_csat_satisfied_ratio 0.5" in metrics
    # Clocks started more than 7 days ago and answers older than 30 days no longer count.
    clock.advance(days=31)
    await checker.refresh_business_gauges()
    assert math.isnan(value("crm_sla_compliance_ratio", kind="assign"))
    assert math.isnan(value("crm_csat_satisfied_ratio"))


async def test_the_business_gauges_are_refreshed_every_five_minutes_not_every_round(
    quiet_settings: Settings, clock, checker: SlaChecker
) -> None:
    assert checker._business_gauges_due()
    await checker.refresh_business_gauges()
    clock.advance(minutes=4)
    assert not checker._business_gauges_due()
    clock.advance(minutes=1)
    assert checker._business_gauges_due()
