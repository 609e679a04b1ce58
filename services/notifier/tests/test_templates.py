"""Notification templates: every built-in one renders its kind's sample facts; an admin saves,
previews and resets one through HTTP, and a broken one is refused when saved (422 naming the
field); ``render`` uses the saved template, falls back to zh-CN for an unknown locale, and at
send time renders a missing fact as empty rather than failing the dispatcher."""

# ruff: noqa: RUF001

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db.template_models import NotificationTemplate
from crm_notifier.domain import templates
from crm_notifier.domain.context import system_context
from crm_notifier.domain.kinds import KINDS, LOCALES, Kind
from crm_notifier.domain.templates import SaveTemplate
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK
from crm_platform.db import create_engine, create_sessionmaker
from crm_platform.errors import InvalidField
from crm_platform.testing import bearer

from .conftest import INTERNAL_TOKEN_SECRET

ADMIN = bearer(INTERNAL_TOKEN_SECRET, "admin", subject="u-admin")
BASE = "/v1/notification-templates"
EVERY_TEMPLATE = [(kind, locale) for kind in Kind for locale in LOCALES]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "notifier.md"

# --------------------------------------------------------------------------- no database


@pytest.mark.parametrize(("kind", "locale"), EVERY_TEMPLATE)
def test_every_built_in_template_renders_its_sample_facts(kind: Kind, locale: str) -> None:
    subject, body = templates.BUILT_IN[(kind, locale)]
    templates.validate(subject, body, kind)
    facts = templates.sample_facts(kind)
    assert set(facts) == set(KINDS[kind].facts) | {"recipient_name", "link"}
    rendered = templates.render_checked(subject, body, kind, facts)
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.body and len(rendered.body) <= 500  # fit for an SMS or a bot
    assert "{" not in rendered.subject + rendered.body
    telling = next(n for n in ("code", "customer_name", "title", "partner", "text") if n in facts)
    assert str(facts[telling]) in rendered.subject + rendered.body


def test_the_survey_reads_as_the_product_says() -> None:
    subject, body = templates.BUILT_IN[(Kind.SURVEY, "zh-CN")]
    facts = {
        **templates.sample_facts(Kind.SURVEY),
        "recipient_name": "李娜",
        "code": "T-1",
        "link": "https://x/s/1",
        "expires_at": "2026-06-01T01:00:00Z",
    }
    rendered = templates.render_checked(subject, body, Kind.SURVEY, facts)
    assert rendered.body == (
        "您好 李娜，工单 T-1 已处理完毕，请点击 https://x/s/1 "
        "为本次服务评分（2026-06-01 09:00 前有效）"
    )


@pytest.mark.parametrize(
    ("late", "expected"), [(False, "将于 2026-06-01 09:00 到期"), (True, "已逾期")]
)
def test_a_reminder_says_whether_it_is_late(late: bool, expected: str) -> None:
    subject, body = templates.BUILT_IN[(Kind.REMINDER, "zh-CN")]
    facts = {**templates.sample_facts(Kind.REMINDER), "late": late}
    assert expected in templates.render_checked(subject, body, Kind.REMINDER, facts).body


@pytest.mark.parametrize(
    ("value", "arguments", "expected"),
    [
        ("2026-06-01T01:00:00Z", "", "2026-06-01 09:00"),
        ("2026-06-01T01:00:00+00:00", "", "2026-06-01 09:00"),
        ("2026-06-01T01:00:00", "", "2026-06-01 09:00"),  # naive: UTC
        ("2026-06-01T01:00:00Z", '("UTC")', "2026-06-01 01:00"),
        ("2026-06-01T01:00:00Z", '("Europe/Berlin", "%d.%m. %H:%M")', "01.06. 03:00"),
        (datetime(2026, 6, 1, 1, tzinfo=UTC), "", "2026-06-01 09:00"),
        (None, "", ""),  # an optional moment left out
        ("soon", "", "soon"),
    ],
)
def test_the_datetime_filter(value: Any, arguments: str, expected: str) -> None:
    rendered = templates.render_checked(
        "s", "at {{ due_at | datetime" + arguments + " }}", Kind.CALLBACK_DUE, {"due_at": value}
    )
    assert rendered.body == f"at {expected}".strip()


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("zh-CN", "zh-CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("zh", "zh-CN"),
        ("fr", "zh-CN"),
        ("", "zh-CN"),
    ],
)
def test_an_unknown_locale_falls_back(locale: str, expected: str) -> None:
    assert templates.resolve_locale(locale) == expected


BROKEN = [
    # (field, subject, body, what the message says)
    ("body", "ok", "第一行\n{% if code %}没有结束", "line 2"),
    ("subject", "{{ code ", "ok", "line 1"),
    ("body", "ok", "{{ amount }}", "uses amount"),
    ("subject", "{{ customer.name }}", "ok", "uses customer"),
    ("body", "ok", "{{ ''.__class__ }}", "sandbox"),
    ("body", "ok", "{{ code.__class__.__mro__ }}", "sandbox"),
    ("body", "ok", "{{ [code].append('x') }}", "sandbox"),
    ("body", "ok", "{{ 'x' * 1000000 }}", "sandbox"),
    ("body", "ok", "{{ code / 0 }}", "does not render"),
    ("body", "ok", "{{ expires_at | datetime('Mars/Olympus') }}", "not a time zone"),
    ("subject", "{{ '' }}", "ok", "renders empty"),
]


@pytest.mark.parametrize(("field", "subject", "body", "says"), BROKEN)
def test_a_broken_template_is_refused(field: str, subject: str, body: str, says: str) -> None:
    with pytest.raises(InvalidField) as refused:
        templates.validate(subject, body, Kind.SURVEY)
    error = refused.value.facts["errors"][0]
    assert error["field"] == f"body.{field}"
    assert says in error["message"]


def test_the_documented_facts_are_the_kinds() -> None:
    text = DOCS.read_text()
    start, end = "<!-- facts-table:start -->\n", "<!-- facts-table:end -->"
    documented = text[text.index(start) + len(start) : text.index(end)]
    assert documented.strip() == templates.facts_table().strip(), (
        "docs/notifier.md is out of date; paste facts_table() between the markers"
    )


# --------------------------------------------------------------------------- through HTTP


async def test_every_kind_and_locale_is_listed_with_its_facts(client) -> None:
    response = await client.get(BASE, headers=ADMIN)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["kind"], i["locale"]) for i in items] == [(k.value, lo) for k, lo in EVERY_TEMPLATE]
    survey = next(i for i in items if i["kind"] == "survey" and i["locale"] == "zh-CN")
    assert survey["customised"] is False and survey["version"] == 0
    assert survey["label"] == "满意度调查"
    assert survey["facts"] == [
        "code",
        "title",
        "customer_name",
        "expires_at",
        "recipient_name",
        "link",
    ]
    assert survey["subject"] == templates.BUILT_IN[(Kind.SURVEY, "zh-CN")][0]


async def test_an_admin_saves_previews_and_resets_a_template(client) -> None:
    path = f"{BASE}/survey/en"
    saved = await client.put(
        path,
        headers=ADMIN,
        json={"subject": "Rate {{ code }}", "body": "Hi {{ recipient_name }}: {{ link }}"},
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"1"'
    assert saved.json()["customised"] is True
    assert saved.json()["updated_by"] == "u-admin"

    read = (await client.get(path, headers=ADMIN)).json()
    assert (read["subject"], read["version"]) == ("Rate {{ code }}", 1)

    preview = await client.post(f"{path}/preview", headers=ADMIN, json={})
    assert preview.status_code == 200, preview.text
    assert preview.json()["subject"] == "Rate T20260601-0001"

    trial = await client.post(
        f"{path}/preview",
        headers=ADMIN,
        json={"body": "Until {{ expires_at | datetime }}", "facts": {"code": "T-9"}},
    )
    assert trial.json() == {
        "kind": "survey",
        "locale": "en",
        "subject": "Rate T-9",
        "body": "Until 2026-06-08 09:00",
    }
    assert (await client.get(path, headers=ADMIN)).json()["body"] == read["body"]  # not saved

    changed = await client.put(
        path,
        headers={**ADMIN, "if-match": '"1"'},
        json={"subject": "Rate ticket {{ code }}", "body": "{{ link }}"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2

    reset = await client.delete(path, headers={**ADMIN, "if-match": '"2"'})
    assert reset.status_code == 200, reset.text
    assert (reset.json()["customised"], reset.json()["version"]) == (False, 0)
    assert reset.json()["subject"] == templates.BUILT_IN[(Kind.SURVEY, "en")][0]
    again = await client.delete(path, headers=ADMIN)  # already the built-in
    assert again.status_code == 200


async def test_a_change_needs_the_version_read(client) -> None:
    path = f"{BASE}/reminder/zh-CN"
    body = {"subject": "提醒：{{ title }}", "body": "{{ title }}"}
    assert (await client.put(path, headers=ADMIN, json=body)).status_code == 200
    missing = await client.put(path, headers=ADMIN, json=body)
    assert missing.status_code == 428, missing.text
    stale = await client.put(path, headers=ADMIN, json={**body, "version": 7})
    assert stale.status_code == 409
    assert stale.json()["type"] == "urn:crm:problem:stale-version"
    assert stale.json()["current_version"] == 1
    created_meanwhile = await client.put(f"{BASE}/reminder/en", headers=ADMIN, json=body)
    assert created_meanwhile.status_code == 200
    assert (await client.delete(path, headers={**ADMIN, "if-match": '"5"'})).status_code == 409
    assert (await client.put(path, headers=ADMIN, json={**body, "version": 1})).status_code == 200


@pytest.mark.parametrize(("field", "subject", "body", "says"), BROKEN[:5])
async def test_a_broken_template_is_refused_when_saved(
    client, field: str, subject: str, body: str, says: str
) -> None:
    path = f"{BASE}/survey/zh-CN"
    response = await client.put(path, headers=ADMIN, json={"subject": subject, "body": body})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == f"body.{field}"
    assert says in error["message"]
    if says.startswith("line"):
        assert error["line"] == int(says.split()[1])
    preview = await client.post(
        f"{path}/preview", headers=ADMIN, json={"subject": subject, "body": body}
    )
    assert preview.status_code == 422
    assert (await client.get(path, headers=ADMIN)).json()["customised"] is False


async def test_who_may_read_and_change_templates(client) -> None:
    body = {"subject": "{{ code }}", "body": "{{ code }}"}
    for role in ("sales_manager", "service_supervisor"):
        headers = bearer(INTERNAL_TOKEN_SECRET, role)
        assert (await client.get(BASE, headers=headers)).status_code == 200
        put = await client.put(f"{BASE}/survey/en", headers=headers, json=body)
        assert put.status_code == 403, put.text
        assert put.json()["type"] == "urn:crm:problem:forbidden"
        assert (await client.delete(f"{BASE}/survey/en", headers=headers)).status_code == 403
    for role in ("sales_rep", "service_agent", "viewer"):
        headers = bearer(INTERNAL_TOKEN_SECRET, role)
        assert (await client.get(f"{BASE}/survey/en", headers=headers)).status_code == 403


async def test_an_unknown_kind_or_locale_is_not_found(client) -> None:
    assert (await client.get(f"{BASE}/birthday/zh-CN", headers=ADMIN)).status_code == 404
    missing = await client.put(
        f"{BASE}/survey/fr", headers=ADMIN, json={"subject": "x", "body": "y"}
    )
    assert missing.status_code == 404
    assert missing.json()["locales"] == ["zh-CN", "en"]


# --------------------------------------------------------------------------- send time


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


SURVEY_FACTS = {
    "code": "T-7",
    "title": "打印机卡纸",
    "customer_name": "示例公司",
    "expires_at": "2026-06-01T01:00:00Z",
    "recipient_name": "王芳",
    "link": "https://x/s/7",
}


async def test_render_uses_the_saved_template_and_zh_cn_for_an_unknown_locale(
    client, sessions
) -> None:
    saved = await client.put(
        f"{BASE}/survey/zh-CN",
        headers=ADMIN,
        json={"subject": "评分 {{ code }}", "body": "{{ recipient_name }}：{{ link }}"},
    )
    assert saved.status_code == 200, saved.text
    async with sessions() as session:
        mine = await templates.render(session, Kind.SURVEY, "zh-CN", SURVEY_FACTS)
        french = await templates.render(session, Kind.SURVEY, "fr-FR", SURVEY_FACTS)
        english = await templates.render(session, Kind.SURVEY, "en", SURVEY_FACTS)
    assert mine == templates.Rendered(subject="评分 T-7", body="王芳：https://x/s/7")
    assert french == mine
    assert english.subject == "How did we do on ticket T-7?"
    assert "open until 2026-06-01 09:00" in english.body


async def test_render_reads_a_template_once_per_session_but_sees_its_own_saves(
    client, sessions, settings: Settings
) -> None:
    """The consumer renders a batch of events in one session: the saved template is read
    once for it; one saved through the same session applies at once."""
    ctx = system_context(settings, SYSTEM_CLOCK)
    async with sessions() as session, session.begin():
        before = await templates.render(session, Kind.SURVEY, "en", SURVEY_FACTS)
        assert before.subject == "How did we do on ticket T-7?"
        await templates.save_template(
            session,
            ctx,
            SaveTemplate(
                kind="survey",
                locale="en",
                subject="Rate {{ code }}",
                body="{{ link }}",
                expected_version=None,
            ),
        )
        after = await templates.render(session, Kind.SURVEY, "en", SURVEY_FACTS)
    assert after == templates.Rendered(subject="Rate T-7", body="https://x/s/7")


async def test_a_missing_fact_at_send_time_renders_empty_and_is_logged(
    client, sessions, caplog
) -> None:
    facts = {k: v for k, v in SURVEY_FACTS.items() if k != "expires_at"}
    with caplog.at_level(logging.WARNING, logger="crm_notifier.domain.templates"):
        async with sessions() as session:
            rendered = await templates.render(
                session, Kind.SURVEY, "zh-CN", facts, zone="America/New_York"
            )
    assert rendered.body.endswith("为本次服务评分（ 前有效）")
    assert "missing: expires_at" in caplog.text
    async with sessions() as session:
        nothing = await templates.render(session, Kind.SLA_BREACHED, "en", {})
    assert nothing.subject == "SLA breached: ticket"


async def test_a_saved_template_failing_on_real_facts_gives_way_to_the_built_in(
    client, sessions, caplog
) -> None:
    async with sessions() as session, session.begin():
        session.add(
            NotificationTemplate(
                kind="survey",
                locale="en",
                subject="{{ code }}",
                body="{{ 1 // code }}",  # saved behind the API's back: no validation
                updated_at=datetime.now(UTC),
                updated_by="u-test",
            )
        )
    async with sessions() as session:
        rendered = await templates.render(session, Kind.SURVEY, "en", SURVEY_FACTS)
    assert rendered.subject == "How did we do on ticket T-7?"
    assert "failed; the built-in one is used" in caplog.text
