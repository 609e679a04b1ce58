"""DingTalk (钉钉) group bot: a markdown message to the bot's webhook, @-mentioning the address
when it is a mobile number (``@all``: everyone). With a signing secret, each request's URL
carries ``timestamp`` (ms) and ``sign`` = base64(HMAC-SHA256(secret, "{timestamp}\\n{secret}")),
URL-encoded, as DingTalk's "加签" requires. DingTalk answers ``errcode`` 0 on success."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote_plus

import httpx

from crm_notifier.channels import _common
from crm_notifier.channels.base import ChannelEnv, OutboundMessage, SendResult, register

PROVIDER = "dingtalk"
# 130101: the bot's rate limit (20 messages a minute); -1: system busy.
RETRY_CODES = frozenset({130101, -1})
MARKDOWN_CHARS = 4000


def signature(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` for ``timestamp_ms``, before URL encoding."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    timestamp_ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sign = quote_plus(signature(secret, timestamp_ms))
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp_ms}&sign={sign}"


class DingTalkChannel:
    name = "dingtalk"

    def __init__(
        self, http: httpx.AsyncClient, url: str, secret: str | None, timeout: float
    ) -> None:
        self._http = http
        self._url = url
        self._secret = secret
        self._timeout = timeout

    def payload(self, message: OutboundMessage) -> dict[str, object]:
        address = message.address.strip()
        at_all = address == "@all"
        mobile = None if at_all else _common.mobile_number(address)
        text = f"### {message.subject}\n\n{message.body}" if message.subject else message.body
        text = _common.text_with_link(text, _common.link_of(message), MARKDOWN_CHARS)
        if mobile is not None:  # a mention shows only when the text names the mobile too
            text += f"\n\n@{mobile}"
        elif at_all:
            text += "\n\n@all"
        return {
            "msgtype": "markdown",
            "markdown": {"title": message.subject or message.body[:30], "text": text},
            "at": {"atMobiles": [mobile] if mobile else [], "isAtAll": at_all},
        }

    async def send(self, message: OutboundMessage) -> SendResult:
        url = signed_url(self._url, self._secret) if self._secret else self._url
        answer = await _common.post(
            self._http,
            url,
            PROVIDER,
            content=_common.json_body(self.payload(message)),
            headers=_common.JSON_HEADERS,
            timeout=self._timeout,
        )
        if not isinstance(answer, httpx.Response):
            return answer
        return _common.errcode_result(answer, PROVIDER, RETRY_CODES)


@register("dingtalk")
def build(env: ChannelEnv) -> DingTalkChannel | None:
    settings = env.settings
    if not settings.dingtalk_webhook_url:
        return None
    return DingTalkChannel(
        env.http,
        settings.dingtalk_webhook_url,
        settings.dingtalk_secret or None,
        settings.http_timeout_seconds,
    )
