"""SMS through an HTTP provider, a generic JSON adapter: POST to ``sms_url`` the body rendered
from the Jinja2 template ``sms_body_template`` (sandboxed; it gets ``to``, the mobile number,
and ``text``, the subject and body cut to ``MAX_CHARS`` with the link kept whole), with the
header ``sms_auth_header`` ("Name: value"). The rendered body must be JSON."""

from __future__ import annotations

import json

import httpx
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from crm_notifier.channels import _common
from crm_notifier.channels.base import (
    ChannelEnv,
    Delivered,
    Failed,
    OutboundMessage,
    SendResult,
    register,
)

PROVIDER = "sms provider"
MAX_CHARS = 500
# Where providers commonly put the id of the message they accepted.
_ID_KEYS = ("message_id", "messageId", "MessageId", "id", "sid", "BizId", "bizId", "request_id")


def parse_header(line: str) -> dict[str, str]:
    name, sep, value = line.partition(":")
    if not sep or not name.strip():
        raise ValueError("CRM_SMS_AUTH_HEADER must read 'Name: value'")
    return {name.strip(): value.strip()}


def sms_text(message: OutboundMessage) -> str:
    text = f"{message.subject}\n{message.body}" if message.subject else message.body
    return _common.text_with_link(text.strip(), _common.link_of(message), MAX_CHARS)


def provider_id(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        for key in _ID_KEYS:
            if answer.get(key) not in (None, ""):
                return str(answer[key])
    return f"HTTP {response.status_code}"


class SmsChannel:
    name = "sms"

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        template: Template,
        headers: dict[str, str],
        timeout: float,
    ) -> None:
        self._http = http
        self._url = url
        self._template = template
        self._headers = {**_common.JSON_HEADERS, **headers}
        self._timeout = timeout

    def render(self, message: OutboundMessage) -> str | Failed:
        """The request body for ``message``, or why there can be none."""
        to = _common.mobile_number(message.address)
        if to is None:
            return Failed(f"not a mobile number: {_common.snippet(message.address)!r}")
        try:
            body = self._template.render(to=to, text=sms_text(message))
        except Exception as exc:  # the operator's template: any error in it fails this one
            return Failed(f"sms body template failed: {type(exc).__name__}: {exc}")
        try:
            json.loads(body)
        except ValueError as exc:
            return Failed(f"sms body template did not render JSON: {exc}")
        return body

    async def send(self, message: OutboundMessage) -> SendResult:
        body = self.render(message)
        if isinstance(body, Failed):
            return body
        answer = await _common.post(
            self._http,
            self._url,
            PROVIDER,
            content=body.encode(),
            headers=self._headers,
            timeout=self._timeout,
        )
        if not isinstance(answer, httpx.Response):
            return answer
        return Delivered(provider_id(answer))


@register("sms")
def build(env: ChannelEnv) -> SmsChannel | None:
    """None without ``sms_url``; a template or header that cannot work is a configuration
    error, raised here, at start-up, rather than failing every message."""
    settings = env.settings
    if not settings.sms_url:
        return None
    sandbox = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        template = sandbox.from_string(settings.sms_body_template)
    except TemplateError as exc:
        raise ValueError(f"CRM_SMS_BODY_TEMPLATE is not a Jinja2 template: {exc}") from exc
    headers = parse_header(settings.sms_auth_header) if settings.sms_auth_header else {}
    return SmsChannel(env.http, settings.sms_url, template, headers, settings.http_timeout_seconds)
