# ruff: noqa: F811 (pytest fixtures imported from notifier_fixtures)
"""Events become notifications for the right people, once each, in their inbox; preferences,
quiet hours and a contact's marketing consent decide the rest (SPEC §4)."""

from __future__ import annotations

import uuid

import httpx

from crm_notifier.settings import Settings
from crm_platform.testing import fetch

from .notifier_fixtures import (  # noqa: F401
    ADMIN,
    START,
    api,
    apply,
    as_user,
    clock,
    contact_event,
    event,
    handlers,
    quiet_settings,
    reminder_event,
    sessions,
    sla_event,
    ticket,
    user_event,
)


async def _deliveries(settings: Settings) -> list[dict]:
    rows = await fetch(
        settings.database_url,
        "SELECT n.kind, n.recipient_kind, n.recipient_id, d.channel, d.status, d.last_error, "
        "d.next_attempt_at FROM delivery d JOIN notification n ON n.id = d.notification_id "
        "ORDER BY n.recipient_id, d.channel",
    )
    return [dict(row) for row in rows]


async def test_a_reminder_lands_in_the_inbox_once_however_often_it_arrives(
    api: httpx.AsyncClient, sessions, handlers
) -> None:
    await apply(sessions, handlers, user_event("u-rep-1", ["sales_rep"]))
    reminder = reminder_event("u-rep-1")
    await apply(sessions, handlers, reminder, reminder, reminder)  # redelivered twice
    me = as_user("u-rep-1")
    page = (await api.get("/v1/notifications", headers=me)).json()
    assert (page["total"], page["unread"]) == (1, 1)
    [item] = page["items"]
    assert item["kind"] == "reminder" and item["read_at"] is None
    assert (await api.get("/v1/notifications/unread-count", headers=me)).json() == {"count": 1}
    others = await api.get("/v1/notifications", headers=as_user("u-rep-2"))
    assert others.json()["total"] == 0
    hidden = await api.get(f"/v1/notifications/{item['id']}", headers=as_user("u-rep-2"))
    assert hidden.status_code == 404
    marked = await api.post("/v1/notifications/read", json={"ids": [item["id"]]}, headers=me)
    assert marked.json() == {"count": 1}
    assert (await api.get("/v1/notifications/unread-count", headers=me)).json() == {"count": 0}
    detail = (await api.get(f"/v1/notifications/{item['id']}", headers=me)).json()
    assert [(d["channel"], d["status"]) for d in detail["deliveries"]] == [
        ("email", "skipped"),
        ("inbox", "delivered"),
    ]
    assert detail["deliveries"][0]["last_error"] == "the email channel is not configured"


async def test_sla_alerts_reach_the_supervisor_and_the_assignee_and_managers_hear_of_wins(
    api: httpx.AsyncClient, sessions, handlers, quiet_settings: Settings
) -> None:
    for user_id, roles in (
        ("u-sup", ["service_supervisor"]),
        ("u-agent", ["service_agent"]),
        ("u-m1", ["sales_manager"]),
        ("u-m2", ["sales_manager", "admin"]),
        ("u-rep", ["sales_rep"]),
    ):
        await apply(sessions, handlers, user_event(user_id, roles))
    await apply(
        sessions, handlers, sla_event("sla_breached", supervisor_id="u-sup", assignee_id="u-agent")
    )
    await apply(sessions, handlers, sla_event("sla_warning", supervisor_id=None, assignee_id=None))
    won = {
        "id": str(uuid.uuid4()),
        "customer_id": str(uuid.uuid4()),
        "code": "KH2026001OP01",
        "owner_id": "u-rep",
        "actual_amount": "98000.00",
        "contract_number": "HT-1",
        "won_at": START.isoformat(),
    }
    await apply(sessions, handlers, event("opportunity.won", won))
    rows = {(r["kind"], r["recipient_id"]) for r in await _deliveries(quiet_settings)}
    assert rows == {
        ("sla_breached", "u-sup"),
        ("sla_breached", "u-agent"),
        ("sla_warning", "u-sup"),  # no supervisor named: every service supervisor
        ("opportunity_won", "u-m1"),
        ("opportunity_won", "u-m2"),
    }


async def test_the_survey_goes_to_the_tickets_contact_and_a_campaign_skips_the_opted_out(
    api: httpx.AsyncClient, sessions, handlers, quiet_settings: Settings
) -> None:
    customer = uuid.uuid4()
    opted_out = contact_event(customer, opt_out=True)
    await apply(sessions, handlers, opted_out)
    closed = {
        "ticket": ticket(customer, contact_id=opted_out.data["id"]),
        "survey": {
            "id": str(uuid.uuid4()),
            "token": "t",
            "url": "https://crm.example.com/survey/abc",
            "expires_at": "2026-06-15T01:00:00Z",
        },
    }
    await apply(sessions, handlers, event("ticket.closed", closed, service="service-desk"))
    sent = await api.post(
        "/v1/notifications/messages",
        json={
            "subject": "618 促销",
            "text": "新品八折",
            "category": "marketing",
            "contact_ids": [opted_out.data["id"]],
        },
        headers=ADMIN,
    )
    assert sent.status_code == 200, sent.text
    rows = {
        (r["kind"], r["channel"], r["status"], r["last_error"])
        for r in await _deliveries(quiet_settings)
    }
    assert ("message", "email", "skipped", "opted out") in rows
    survey = next(r for r in rows if r[0] == "survey")
    assert survey[1] == "email" and survey[3] != "opted out"  # transactional: consent not asked
    refused = await api.post(
        "/v1/notifications/messages",
        json={"subject": "x", "text": "y", "user_ids": ["u-1"]},
        headers=as_user("u-rep-1"),
    )
    assert refused.status_code == 403


async def test_quiet_hours_hold_a_reminder_but_not_a_breach(
    api: httpx.AsyncClient, sessions, handlers, quiet_settings: Settings, clock
) -> None:
    await apply(sessions, handlers, user_event("u-agent", ["service_agent"], email="a@example.com"))
    me = as_user("u-agent", "service_agent")
    saved = await api.put(
        "/v1/notifications/preferences",
        json={
            "channels": ["inbox", "email"],
            "quiet_start": "22:00",
            "quiet_end": "10:00",
            "timezone": "Asia/Shanghai",
            "locale": "en",
            "version": 0,
        },
        headers=me,
    )
    assert saved.status_code == 200, saved.text
    await apply(sessions, handlers, reminder_event("u-agent"))  # 09:00 local
    await apply(
        sessions, handlers, sla_event("sla_breached", supervisor_id="u-agent", assignee_id=None)
    )
    rows = {(r["kind"], r["channel"]): r for r in await _deliveries(quiet_settings)}
    # Email is not configured in this app: the moment is what matters here.
    held = rows[("reminder", "email")]["next_attempt_at"]
    assert held.isoformat() == "2026-06-01T02:00:00+00:00"  # 10:00 in Shanghai
    assert rows[("sla_breached", "email")]["next_attempt_at"] == START


async def test_preferences_are_validated(api: httpx.AsyncClient) -> None:
    me = as_user("u-1")
    current = (await api.get("/v1/notifications/preferences", headers=me)).json()
    assert current["channels"] == ["inbox", "email"] and current["version"] == 0
    for bad in (
        {"channels": ["email"]},  # no inbox
        {"channels": ["inbox", "pigeon"]},
        {"channels": ["inbox"], "quiet_start": "22:00"},
        {"channels": ["inbox"], "timezone": "Mars/Olympus"},
        {"channels": ["inbox"], "locale": "fr"},
    ):
        response = await api.put(
            "/v1/notifications/preferences", json={**bad, "version": 0}, headers=me
        )
        assert response.status_code == 422, bad
    stale = await api.put(
        "/v1/notifications/preferences", json={"channels": ["inbox"], "version": 3}, headers=me
    )
    assert stale.status_code == 409


async def test_a_notification_links_to_the_console_page_of_what_it_is_about(
    api: httpx.AsyncClient, sessions, handlers, quiet_settings: Settings
) -> None:
    await apply(sessions, handlers, user_event("u-sup-2", ["service_supervisor"]))
    await apply(sessions, handlers, user_event("u-rep-9", ["sales_rep"]))
    breach = sla_event("sla_breached", supervisor_id="u-sup-2", assignee_id=None)
    await apply(sessions, handlers, breach, reminder_event("u-rep-9"))
    console = quiet_settings.console_url
    [alert] = (await api.get("/v1/notifications", headers=as_user("u-sup-2"))).json()["items"]
    assert alert["link"] == f"{console}/tickets/{breach.data['ticket_id']}"
    # A reminder about no customer opens the rep's day.
    [reminder] = (await api.get("/v1/notifications", headers=as_user("u-rep-9"))).json()["items"]
    assert reminder["link"] == f"{console}/my-day"
