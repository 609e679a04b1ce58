# ruff: noqa: F811 (pytest fixtures imported from notifier_fixtures)
"""Deliveries to real receivers: a survey email through an SMTP server (aiosmtpd) with its
working link, SMS to a local HTTP provider that is down three times and then up (delivered
exactly once) or stays down (failed with the reason), quiet hours that hold a 09:00 reminder
until 10:00 while an SLA breach goes at once. Time moves on a fake clock; the dispatcher's
rounds are run by the test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from crm_notifier.domain.dispatcher import DeliveryDispatcher
from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.testing import fetch, free_port, running_app

from .notifier_fixtures import (  # noqa: F401
    START,
    apply,
    as_user,
    clock,
    contact_event,
    event,
    handlers,
    reminder_event,
    sessions,
    sla_event,
    ticket,
    user_event,
)

SURVEY_URL = "https://crm.example.com/survey/eyJhbGciOiJIUzI1NiJ9.abc.def"


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 2.0.0 queued"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


class SmsProvider:
    """Answers 503 ``failures`` times, then 200; records what it accepted."""

    def __init__(self) -> None:
        self.failures = 0
        self.accepted: list[dict[str, Any]] = []
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=503, text="busy")
        self.accepted.append(await request.json())
        return web.json_response({"id": f"sms-{len(self.accepted)}"})


@pytest.fixture
async def sms() -> AsyncIterator[tuple[str, SmsProvider]]:
    provider = SmsProvider()
    app = web.Application()
    app.router.add_post("/sms", provider.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/sms", provider
    finally:
        await runner.cleanup()


@pytest.fixture
def quiet_settings(settings: Settings, smtp, sms) -> Settings:
    return settings.model_copy(
        update={
            "dispatcher_enabled": False,
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[0],
            "smtp_starttls": False,
            "smtp_from": "CRM <noreply@crm.example.com>",
            "sms_url": sms[0],
            "delivery_max_attempts": 4,
        }
    )


@pytest.fixture
async def api(quiet_settings: Settings, clock) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(quiet_settings, clock=clock), "http://notifier") as c:
        yield c


@pytest.fixture
async def dispatcher(
    sessions, quiet_settings: Settings, clock
) -> AsyncIterator[DeliveryDispatcher]:
    dispatcher = DeliveryDispatcher(sessions, quiet_settings, clock)
    yield dispatcher
    if dispatcher._http is not None:
        await dispatcher._http.aclose()


async def _outcomes(settings: Settings, routing_key: str) -> int:
    rows = await fetch(
        settings.database_url,
        "SELECT count(*) AS n FROM outbox_message WHERE routing_key = $1",
        routing_key,
    )
    return rows[0]["n"]


async def test_the_survey_email_reaches_the_customer_with_its_link(
    api, sessions, handlers, dispatcher, smtp, quiet_settings: Settings
) -> None:
    customer = uuid.uuid4()
    contact = contact_event(customer, email="liu@example.com")
    await apply(sessions, handlers, contact)
    closed = {
        "ticket": ticket(customer),
        "survey": {
            "id": "s",
            "token": "t",
            "url": SURVEY_URL,
            "expires_at": "2026-06-15T01:00:00Z",
        },
    }
    await apply(sessions, handlers, event("ticket.closed", closed, service="service-desk"))
    assert await dispatcher.dispatch_once() == 1
    [mail] = smtp[1].mails
    assert mail["To"] == "liu@example.com"
    body = mail.get_body(("plain",)).get_content()
    assert SURVEY_URL in body and "FW2026001" in body
    assert await _outcomes(quiet_settings, "notification.delivered") == 1
    assert await dispatcher.dispatch_once() == 0  # delivered once


async def test_a_receiver_down_three_times_then_up_gets_the_message_exactly_once(
    api, sessions, handlers, dispatcher, sms, clock, quiet_settings: Settings
) -> None:
    provider = sms[1]
    provider.failures = 3
    await apply(sessions, handlers, user_event("u-agent", ["service_agent"], mobile="13800138000"))
    me = as_user("u-agent", "service_agent")
    saved = await api.put(
        "/v1/notifications/preferences",
        json={"channels": ["inbox", "sms"], "version": 0},
        headers=me,
    )
    assert saved.status_code == 200, saved.text
    await apply(sessions, handlers, reminder_event("u-agent"))
    for _ in range(4):
        await dispatcher.dispatch_once()
        clock.advance(hours=2)  # past any backoff of these attempts
    assert provider.calls == 4 and len(provider.accepted) == 1
    assert provider.accepted[0]["to"] == "13800138000"
    assert await dispatcher.dispatch_once() == 0
    page = (await api.get("/v1/notifications", headers=me)).json()
    detail = (await api.get(f"/v1/notifications/{page['items'][0]['id']}", headers=me)).json()
    sms_delivery = next(d for d in detail["deliveries"] if d["channel"] == "sms")
    assert sms_delivery["status"] == "delivered" and sms_delivery["attempts"] == 4
    assert [e["outcome"] for e in sms_delivery["log"]] == ["retry", "retry", "retry", "delivered"]


async def test_a_receiver_that_stays_down_ends_failed_with_the_reason(
    api, sessions, handlers, dispatcher, sms, clock, quiet_settings: Settings
) -> None:
    sms[1].failures = 100
    await apply(sessions, handlers, user_event("u-agent", ["service_agent"], mobile="13800138000"))
    me = as_user("u-agent", "service_agent")
    await api.put(
        "/v1/notifications/preferences",
        json={"channels": ["inbox", "sms"], "version": 0},
        headers=me,
    )
    await apply(sessions, handlers, reminder_event("u-agent"))
    for _ in range(6):
        await dispatcher.dispatch_once()
        clock.advance(hours=2)
    assert sms[1].calls == 4  # delivery_max_attempts
    failed = await api.get(
        "/v1/notifications/deliveries",
        params={"status": "failed"},
        headers=as_user("u-admin", "admin"),
    )
    [row] = failed.json()["items"]
    assert row["channel"] == "sms" and "503" in row["last_error"]
    assert await _outcomes(quiet_settings, "notification.failed") == 1


async def test_quiet_hours_hold_the_reminder_until_they_end_but_not_a_breach(
    api, sessions, handlers, dispatcher, smtp, clock, quiet_settings: Settings
) -> None:
    await apply(sessions, handlers, user_event("u-agent", ["service_agent"], email="a@example.com"))
    me = as_user("u-agent", "service_agent")
    saved = await api.put(
        "/v1/notifications/preferences",
        json={
            "channels": ["inbox", "email"],
            "quiet_start": "21:00",
            "quiet_end": "10:00",
            "version": 0,
        },
        headers=me,
    )
    assert saved.status_code == 200, saved.text
    await apply(sessions, handlers, reminder_event("u-agent", title="09:00 回访提醒"))  # 09:00
    await apply(
        sessions, handlers, sla_event("sla_breached", supervisor_id="u-agent", assignee_id=None)
    )
    assert await dispatcher.dispatch_once() == 1  # the breach, now
    assert len(smtp[1].mails) == 1
    clock.advance(minutes=59)  # 09:59
    assert await dispatcher.dispatch_once() == 0
    clock.advance(minutes=1)  # 10:00
    assert await dispatcher.dispatch_once() == 1
    assert len(smtp[1].mails) == 2
    assert clock.now() == START + timedelta(hours=1)
