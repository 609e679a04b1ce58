# ruff: noqa: F811 (pytest fixtures imported from desk_fixtures)
"""SLA clocks of real tickets on a team's business-hours calendar (SPEC §3): deadlines in
business time, paused while waiting on the customer, and the China calendar's statutory
holidays and adjusted working days (调休)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from crm_service_desk.settings import Settings

from .desk_fixtures import START, api, clock, quiet_settings, sessions  # noqa: F401
from .factories import AGENT, SUPERVISOR, act, open_ticket, save_agent, save_team, seed_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def due(ticket: dict[str, Any], kind: str) -> datetime:
    clock_ = next(c for c in ticket["sla"] if c["kind"] == kind and c["stopped_at"] is None)
    return datetime.fromisoformat(clock_["due_at"]).astimezone(SHANGHAI)


async def _team_on(api: httpx.AsyncClient, key: str, kind: str) -> None:
    created = await api.post(
        "/v1/service-desk/calendars",
        json={"key": key, "name": f"{key} hours", "kind": kind},  # Mon-Fri 09:00-18:00
        headers=SUPERVISOR,
    )
    assert created.status_code == 201, created.text
    await save_team(api, calendar_key=key)


async def test_a_friday_evening_complaint_is_due_in_business_hours(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await _team_on(api, "office", "weekly")
    await save_agent(api, "u-agent", ["complaint"])
    customer = await seed_customer(quiet_settings.database_url)
    clock.set(local(2026, 6, 5, 17, 55).astimezone(UTC))  # Friday
    ticket = await open_ticket(api, customer["id"], ticket_type="complaint", mood="agitated")
    assert due(ticket, "assign") == local(2026, 6, 8, 9, 5)  # 5 min Friday, 5 min Monday
    assert due(ticket, "first_response") == local(2026, 6, 8, 9, 25)
    # 24 business hours: 5 min Friday, 9 h Monday, 9 h Tuesday, 5 h 55 Wednesday.
    assert due(ticket, "resolve") == local(2026, 6, 10, 14, 55)

    clock.set(local(2026, 6, 8, 9, 3).astimezone(UTC))
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")
    ticket = await act(
        api, ticket, "log", as_=AGENT, note="已致电客户致歉", contacted_customer=True
    )
    clock.set(local(2026, 6, 8, 10, 0).astimezone(UTC))
    ticket = await act(api, ticket, "wait", as_=AGENT, note="等客户寄回设备")
    clock.set(local(2026, 6, 9, 10, 0).astimezone(UTC))  # 9 business hours later
    ticket = await act(api, ticket, "resume", as_=AGENT)
    # The 9 business hours waited on the customer move the deadline: Wednesday 14:55 + 9 h.
    assert due(ticket, "resolve") == local(2026, 6, 11, 14, 55)
    statuses = {c["kind"]: c["status"] for c in ticket["sla"]}
    assert statuses == {"assign": "met", "first_response": "met", "resolve": "running"}


async def test_with_the_china_calendar_a_ticket_before_national_day_is_due_after_it(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    await _team_on(api, "cn", "china")
    customer = await seed_customer(quiet_settings.database_url)
    clock.set(local(2026, 9, 30, 15, 0).astimezone(UTC))  # the eve of the holiday
    ticket = await open_ticket(api, customer["id"], priority="high")  # resolve in 24 h
    # 3 h on 30 Sep, nothing 1-7 Oct, 9 h on Thu 8 and Fri 9 Oct, 3 h on Saturday 10 Oct:
    # an adjusted working Saturday (调休) counts as a working day.
    assert due(ticket, "resolve") == local(2026, 10, 10, 12, 0)
    # An admin's own holiday on that Saturday pushes it on to Monday.
    added = await api.put(
        "/v1/service-desk/calendars/cn/holidays/2026-10-10",
        json={"name": "公司活动日"},
        headers=SUPERVISOR,
    )
    assert added.status_code == 200, added.text
    later = await open_ticket(api, customer["id"], priority="high")
    assert due(later, "resolve") == local(2026, 10, 12, 12, 0)
    # ... and moves the deadline of the ticket already open too.
    reread = (await api.get(f"/v1/tickets/{ticket['id']}", headers=SUPERVISOR)).json()
    assert due(reread, "resolve") == local(2026, 10, 12, 12, 0)
