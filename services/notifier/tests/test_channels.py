"""The delivery channels against real servers on this machine: an SMTP server (aiosmtpd) and an
HTTP server (aiohttp) standing in for the SMS provider, the WeCom and DingTalk bots and an
Apprise JSON endpoint. No library is mocked; each answer the servers give is a real one."""

# ruff: noqa: RUF001 (Chinese punctuation in the messages is the point)

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from crm_notifier.channels import sms
from crm_notifier.channels.base import (
    Channel,
    ChannelEnv,
    Delivered,
    Failed,
    OutboundMessage,
    Retry,
    build_channels,
    registered,
)
from crm_notifier.settings import Settings
from crm_platform.testing import free_port

LINK = "https://crm.example.com/survey/T-1?token=abc%2Bdef&lang=zh-CN"
SUBJECT = "工单 T-1 已解决"
BODY = "您好，张三：您的工单「打印机无法连接」已解决，请为本次服务评分。"
SECRET = "SECdingtalk-test-secret"

NO_CHANNELS: dict[str, Any] = {
    "smtp_host": None,
    "sms_url": None,
    "sms_auth_header": None,
    "wecom_webhook_url": None,
    "dingtalk_webhook_url": None,
    "dingtalk_secret": None,
    "apprise_urls": None,
}


def settings(**values: Any) -> Settings:
    return Settings(**{**NO_CHANNELS, "http_timeout_seconds": 2.0, **values})


def message(channel: str, address: str, **values: Any) -> OutboundMessage:
    return OutboundMessage(
        channel=channel,
        address=address,
        subject=values.pop("subject", SUBJECT),
        body=values.pop("body", BODY),
        facts=values.pop("facts", {"link": LINK}),
        **values,
    )


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def channel(http: httpx.AsyncClient, name: str, **values: Any) -> Channel:
    return build_channels(ChannelEnv(settings(**values), http))[name]


# The SMTP server ----------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class SmtpHandler:
    """Accepts mail, except for busy@ (451, temporary) and gone@ (550, permanent)."""

    def __init__(self) -> None:
        self.received: list[Mail] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy@"):
            return "451 4.3.2 mailbox busy, try again later"
        if address.startswith("gone@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 2.0.0 queued as Q123"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, SmtpHandler]]:
    handler = SmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, handler
    finally:
        controller.stop()


def email_channel(http: httpx.AsyncClient, port: int, **values: Any) -> Channel:
    defaults: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_starttls": False,
        "smtp_from": "CRM 通知 <noreply@crm.example.com>",
        "smtp_timeout_seconds": 2.0,
    }
    return channel(http, "email", **{**defaults, **values})


async def test_email_arrives_with_its_headers_chinese_body_and_link(http, smtp) -> None:
    port, handler = smtp
    result = await email_channel(http, port).send(message("email", " zhang.san@example.com "))

    assert isinstance(result, Delivered)
    assert "Q123" in result.detail and "@crm.example.com>" in result.detail
    mail = handler.received[-1]
    assert mail.mail_from == "noreply@crm.example.com"
    assert mail.rcpt_tos == ["zhang.san@example.com"]
    assert str(mail.message["From"]) == "CRM 通知 <noreply@crm.example.com>"
    assert str(mail.message["To"]) == "zhang.san@example.com"
    assert str(mail.message["Subject"]) == SUBJECT
    assert mail.message["Message-ID"] in result.detail
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    text = mail.message.get_content()
    assert BODY in text
    assert LINK in text.split()


async def test_email_keeps_a_link_already_in_the_body_once(http, smtp) -> None:
    port, handler = smtp
    result = await email_channel(http, port).send(
        message(
            "email", "li.si@example.com", body=f"评分：{LINK}", subject="多行\n主题", urgent=True
        ),
    )

    assert isinstance(result, Delivered)
    mail = handler.received[-1].message
    assert mail.get_content().count(LINK) == 1
    assert str(mail["Subject"]) == "多行 主题"
    assert mail["Importance"] == "high"


async def test_smtp_4xx_is_retry_and_5xx_is_failed(http, smtp) -> None:
    port, _ = smtp
    email = email_channel(http, port)

    busy = await email.send(message("email", "busy@example.com"))
    gone = await email.send(message("email", "gone@example.com"))

    assert busy == Retry("SMTP 451 4.3.2 mailbox busy, try again later")
    assert gone == Failed("SMTP 550 5.1.1 mailbox unavailable")


@pytest.mark.parametrize("address", ["not an address", "a@", "@example.com", "a@b@c", ""])
async def test_an_invalid_email_address_fails_without_a_connection(http, address) -> None:
    email = channel(http, "email", smtp_host="127.0.0.1", smtp_port=free_port())

    result = await email.send(message("email", address))

    assert isinstance(result, Failed)
    assert result.reason.startswith("not an email address")


async def test_an_unreachable_or_unsuitable_smtp_server_is_retry(http, smtp) -> None:
    port, _ = smtp
    refused = await email_channel(http, free_port()).send(message("email", "a@example.com"))
    # STARTTLS required, but this server offers none.
    no_tls = await email_channel(http, port, smtp_starttls=True).send(
        message("email", "a@example.com")
    )

    assert isinstance(refused, Retry)
    assert isinstance(no_tls, Retry)
    assert "STARTTLS" in no_tls.reason


# The HTTP server: SMS provider, group bots, Apprise's JSON endpoint ---------------------------


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Provider:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.base = ""

    @property
    def last(self) -> Request:
        return self.requests[-1]

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            Request(request.path, dict(request.query), dict(request.headers), await request.read())
        )
        parts = request.path.strip("/").split("/")
        match parts:
            case ["status", code]:
                return web.Response(status=int(code), text="provider says no")
            case ["errcode", code]:
                return web.json_response({"errcode": int(code), "errmsg": f"error {code}"})
            case ["slow"]:
                await asyncio.sleep(1.0)
                return web.json_response({"errcode": 0})
            case ["notjson"]:
                return web.Response(text="<html>gateway</html>")
            case _:
                return web.json_response({"errcode": 0, "errmsg": "ok", "message_id": "m-1"})


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[Provider]:
    server = Provider()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    server.base = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


def sms_channel(http: httpx.AsyncClient, provider: Provider, path: str, **values: Any) -> Channel:
    return channel(
        http,
        "sms",
        sms_url=provider.base + path,
        sms_auth_header="Authorization: Bearer sms-s3cret",
        **values,
    )


async def test_sms_posts_the_rendered_json_with_the_auth_header(http, provider) -> None:
    result = await sms_channel(http, provider, "/sms").send(message("sms", "+86 138-0013-8000"))

    assert result == Delivered("m-1")
    request = provider.last
    assert request.path == "/sms"
    assert request.headers["Authorization"] == "Bearer sms-s3cret"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.json() == {"to": "+8613800138000", "text": f"{SUBJECT}\n{BODY}\n{LINK}"}


async def test_sms_text_is_cut_to_length_with_the_link_whole(http, provider) -> None:
    long_body = "很长的正文。" * 200 + f" {LINK} " + "结尾" * 50

    result = await sms_channel(http, provider, "/sms").send(
        message("sms", "13800138000", body=long_body)
    )

    assert isinstance(result, Delivered)
    text = provider.last.json()["text"]
    assert len(text) <= sms.MAX_CHARS
    assert text.startswith(SUBJECT)
    assert text.endswith("…\n" + LINK)
    assert text.count(LINK) == 1


async def test_sms_custom_template_renders_in_a_sandbox(http, provider) -> None:
    template = '{"phone": {{ to | tojson }}, "content": {{ text[:10] | tojson }}, "sign": "CRM"}'
    result = await sms_channel(http, provider, "/custom", sms_body_template=template).send(
        message("sms", "13800138000")
    )

    assert isinstance(result, Delivered)
    assert provider.last.json() == {"phone": "13800138000", "content": SUBJECT, "sign": "CRM"}


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ('{"to": "{{ to }}", "text": "{{ text }}"}', "did not render JSON"),  # newline in text
        ('{"to": "{{ nobody }}"}', "UndefinedError"),
        ('{"x": "{{ to.__class__.__mro__ }}"}', "SecurityError"),
    ],
)
async def test_an_sms_body_that_is_not_json_fails(http, provider, template, reason) -> None:
    sent = len(provider.requests)

    result = await sms_channel(http, provider, "/sms", sms_body_template=template).send(
        message("sms", "13800138000")
    )

    assert isinstance(result, Failed)
    assert reason in result.reason
    assert len(provider.requests) == sent


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/status/503", Retry("HTTP 503 from sms provider: provider says no")),
        ("/status/429", Retry("HTTP 429 from sms provider: provider says no")),
        ("/status/408", Retry("HTTP 408 from sms provider: provider says no")),
        ("/status/400", Failed("HTTP 400 from sms provider: provider says no")),
        ("/status/401", Failed("HTTP 401 from sms provider: provider says no")),
    ],
)
async def test_sms_provider_answers(http, provider, path, expected) -> None:
    result = await sms_channel(http, provider, path).send(message("sms", "13800138000"))

    assert result == expected


async def test_sms_timeouts_refusals_and_bad_numbers(http, provider) -> None:
    slow = await sms_channel(http, provider, "/slow", http_timeout_seconds=0.2).send(
        message("sms", "13800138000")
    )
    refused = await channel(http, "sms", sms_url=f"http://127.0.0.1:{free_port()}/").send(
        message("sms", "13800138000")
    )
    not_mobile = await sms_channel(http, provider, "/sms").send(message("sms", "zhangsan"))

    assert slow == Retry("no answer from sms provider within 0.2 s")
    assert isinstance(refused, Retry)
    assert refused.reason.startswith("sms provider unreachable: ConnectError")
    assert not_mobile == Failed("not a mobile number: 'zhangsan'")


async def test_wecom_markdown_to_the_group_and_text_mentioning_a_mobile(http, provider) -> None:
    wecom = channel(http, "wecom", wecom_webhook_url=f"{provider.base}/wecom?key=k-1")

    group = await wecom.send(message("wecom", "客服组"))
    group_request = provider.last
    mention = await wecom.send(message("wecom", "13800138000"))

    assert group == Delivered("wecom errcode 0")
    assert mention == Delivered("wecom errcode 0")
    assert group_request.query == {"key": "k-1"}
    assert group_request.json() == {
        "msgtype": "markdown",
        "markdown": {"content": f"**{SUBJECT}**\n\n{BODY}\n{LINK}"},
    }
    assert provider.last.json() == {
        "msgtype": "text",
        "text": {
            "content": f"{SUBJECT}\n{BODY}\n{LINK}",
            "mentioned_mobile_list": ["13800138000"],
        },
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/errcode/93000", Failed("wecom errcode 93000: error 93000")),
        ("/errcode/45009", Retry("wecom errcode 45009: error 45009")),
        ("/status/503", Retry("HTTP 503 from wecom: provider says no")),
        ("/status/404", Failed("HTTP 404 from wecom: provider says no")),
        ("/notjson", Retry("unreadable answer from wecom: <html>gateway</html>")),
    ],
)
async def test_wecom_answers(http, provider, path, expected) -> None:
    result = await channel(http, "wecom", wecom_webhook_url=provider.base + path).send(
        message("wecom", "")
    )

    assert result == expected


async def test_dingtalk_signs_its_url_and_mentions_the_mobile(http, provider) -> None:
    dingtalk = channel(
        http,
        "dingtalk",
        dingtalk_webhook_url=f"{provider.base}/robot/send?access_token=t-1",
        dingtalk_secret=SECRET,
    )

    result = await dingtalk.send(message("dingtalk", "13800138000"))

    assert result == Delivered("dingtalk errcode 0")
    request = provider.last
    assert request.path == "/robot/send"
    assert set(request.query) == {"access_token", "timestamp", "sign"}
    assert request.query["access_token"] == "t-1"
    timestamp = int(request.query["timestamp"])
    assert abs(time.time() * 1000 - timestamp) < 10_000
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert request.query["sign"] == expected
    assert request.json() == {
        "msgtype": "markdown",
        "markdown": {"title": SUBJECT, "text": f"### {SUBJECT}\n\n{BODY}\n{LINK}\n\n@13800138000"},
        "at": {"atMobiles": ["13800138000"], "isAtAll": False},
    }


async def test_dingtalk_without_a_secret_sends_the_url_as_is(http, provider) -> None:
    dingtalk = channel(http, "dingtalk", dingtalk_webhook_url=f"{provider.base}/robot/plain")

    result = await dingtalk.send(message("dingtalk", "@all"))

    assert result == Delivered("dingtalk errcode 0")
    assert provider.last.query == {}
    assert provider.last.json()["at"] == {"atMobiles": [], "isAtAll": True}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/errcode/310000", Failed("dingtalk errcode 310000: error 310000")),
        ("/errcode/130101", Retry("dingtalk errcode 130101: error 130101")),
        ("/status/502", Retry("HTTP 502 from dingtalk: provider says no")),
        ("/slow", Retry("no answer from dingtalk within 0.2 s")),
    ],
)
async def test_dingtalk_answers(http, provider, path, expected) -> None:
    dingtalk = channel(
        http,
        "dingtalk",
        dingtalk_webhook_url=provider.base + path,
        dingtalk_secret=SECRET,
        http_timeout_seconds=0.2,
    )

    assert await dingtalk.send(message("dingtalk", "")) == expected


def apprise_url(provider: Provider, path: str) -> str:
    return provider.base.replace("http://", "json://") + path


async def test_apprise_reaches_its_configured_urls_or_the_address(http, provider) -> None:
    apprise = channel(http, "apprise", apprise_urls=apprise_url(provider, "/apprise/configured"))

    configured = await apprise.send(message("apprise", "user-7"))
    configured_request = provider.last
    addressed = await apprise.send(
        message("apprise", apprise_url(provider, "/apprise/addressed"), urgent=True)
    )

    assert configured == Delivered("apprise: 1 target(s)")
    assert addressed == Delivered("apprise: 1 target(s)")
    assert configured_request.path == "/apprise/configured"
    payload = configured_request.json()
    assert (payload["title"], payload["type"]) == (SUBJECT, "info")
    assert payload["message"] == f"{BODY}\n\n{LINK}"
    assert provider.last.path == "/apprise/addressed"
    assert provider.last.json()["type"] == "warning"


async def test_apprise_failures(http, provider) -> None:
    apprise = channel(http, "apprise", apprise_urls=apprise_url(provider, "/status/503"))

    down = await apprise.send(message("apprise", "user-7"))
    unusable = await apprise.send(message("apprise", "nosuchservice://token@host"))

    assert isinstance(down, Retry)
    assert down.reason.startswith("apprise failure: ") and "503" in down.reason
    assert unusable == Failed("not a usable apprise URL (nosuchservice://…)")


# Building ----------------------------------------------------------------------------------


async def test_only_configured_channels_are_built(http) -> None:
    assert registered() == ["apprise", "dingtalk", "email", "inbox", "sms", "wecom"]
    assert set(build_channels(ChannelEnv(settings(), http))) == {"inbox"}

    everything = settings(
        smtp_host="127.0.0.1",
        sms_url="http://127.0.0.1:9/sms",
        wecom_webhook_url="http://127.0.0.1:9/wecom",
        dingtalk_webhook_url="http://127.0.0.1:9/dingtalk",
        apprise_urls="json://127.0.0.1:9/a json://127.0.0.1:9/b",
    )
    built = build_channels(ChannelEnv(everything, http))

    assert set(built) == set(registered())
    for name, built_channel in built.items():
        assert built_channel.name == name


async def test_inbox_is_delivered_at_once(http) -> None:
    inbox = channel(http, "inbox")

    assert await inbox.send(message("inbox", "user-7")) == Delivered("in inbox")


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"sms_url": "http://x/", "sms_body_template": "{{ to "}, "CRM_SMS_BODY_TEMPLATE"),
        ({"sms_url": "http://x/", "sms_auth_header": "Bearer abc"}, "CRM_SMS_AUTH_HEADER"),
        ({"smtp_host": "x", "smtp_from": "CRM"}, "CRM_SMTP_FROM"),
        ({"apprise_urls": "nosuchservice://secret@x"}, "CRM_APPRISE_URLS"),
    ],
)
async def test_a_configuration_that_cannot_work_is_refused_at_start(http, values, error) -> None:
    with pytest.raises(ValueError, match=error) as raised:
        build_channels(ChannelEnv(settings(**values), http))

    assert "secret" not in str(raised.value)
