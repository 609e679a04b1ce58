# ruff: noqa: F811 (pytest fixtures imported from desk_fixtures)
"""Satisfaction surveys: closing a ticket publishes a signed, single-use link that expires;
the public endpoints show the ticket and take one score, which lands on the ticket."""

from __future__ import annotations

from typing import Any

import httpx

from crm_service_desk.settings import Settings

from .desk_fixtures import START, api, clock, quiet_settings, sessions  # noqa: F401
from .factories import AGENT, PUBLIC, act, open_ticket, save_agent, seed_customer, staged


async def _closed_ticket(api: httpx.AsyncClient, settings: Settings) -> tuple[dict[str, Any], str]:
    await save_agent(api, "u-agent", ["tech_support"])
    customer = await seed_customer(settings.database_url)
    ticket = await open_ticket(api, customer["id"])
    ticket = await act(api, ticket, "assign", assignee_id="u-agent")
    ticket = await act(api, ticket, "resolve", as_=AGENT, resolution="远程重装驱动后恢复")
    ticket = await act(api, ticket, "close", as_=AGENT)
    [closed] = await staged(settings.database_url, "ticket.closed")
    return ticket, closed["survey"]["token"]


async def test_closing_sends_a_link_that_answers_once(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    ticket, token = await _closed_ticket(api, quiet_settings)
    [closed] = await staged(quiet_settings.database_url, "ticket.closed")
    assert closed["survey"]["url"].endswith(token)
    assert closed["ticket"]["code"] == ticket["code"]
    shown = await api.get(f"/v1/surveys/{token}", headers=PUBLIC)
    assert shown.status_code == 200, shown.text
    assert shown.json()["code"] == ticket["code"]
    assert shown.json()["resolution"] == "远程重装驱动后恢复"
    answered = await api.post(
        f"/v1/surveys/{token}", json={"score": 4, "comment": "处理及时"}, headers=PUBLIC
    )
    assert answered.status_code == 200, answered.text
    again = await api.post(f"/v1/surveys/{token}", json={"score": 1}, headers=PUBLIC)
    assert again.status_code == 409
    assert (await api.get(f"/v1/surveys/{token}", headers=PUBLIC)).status_code == 409
    scored = (await api.get(f"/v1/tickets/{ticket['id']}", headers=AGENT)).json()
    assert (scored["satisfaction"], scored["satisfaction_comment"]) == (4, "处理及时")
    assert scored["log"][-1]["action"] == "survey_answered"
    [event] = await staged(quiet_settings.database_url, "survey.answered")
    assert (event["score"], event["agent_id"]) == (4, "u-agent")


async def test_an_expired_link_is_gone(
    api: httpx.AsyncClient, quiet_settings: Settings, clock
) -> None:
    _, token = await _closed_ticket(api, quiet_settings)
    clock.advance(days=14)
    response = await api.post(f"/v1/surveys/{token}", json={"score": 5}, headers=PUBLIC)
    assert response.status_code == 410
    assert response.json()["type"].endswith("survey-expired")


async def test_a_tampered_link_is_not_found(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    _, token = await _closed_ticket(api, quiet_settings)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    for bad in (f"{header}.{payload}.{flipped}", token[:-1] + "x", "not-a-token-at-all-123456"):
        response = await api.post(f"/v1/surveys/{bad}", json={"score": 5}, headers=PUBLIC)
        assert response.status_code == 404, bad
    assert (
        await api.post(f"/v1/surveys/{token}", json={"score": 5}, headers=PUBLIC)
    ).status_code == 200


async def test_a_score_must_be_one_to_five(
    api: httpx.AsyncClient, quiet_settings: Settings
) -> None:
    _, token = await _closed_ticket(api, quiet_settings)
    for score in (0, 6, "five"):
        response = await api.post(f"/v1/surveys/{token}", json={"score": score}, headers=PUBLIC)
        assert response.status_code == 422
