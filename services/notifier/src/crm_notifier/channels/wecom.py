"""WeCom (企业微信) group bot: a markdown message to the bot's webhook, or a text message that
@-mentions the address when it is a mobile number (or ``@all``); markdown cannot mention by
mobile. WeCom answers HTTP 200 with ``errcode`` 0 on success."""

from __future__ import annotations

import httpx

from crm_notifier.channels import _common
from crm_notifier.channels.base import ChannelEnv, OutboundMessage, SendResult, register

PROVIDER = "wecom"
# 45009: the bot's rate limit (20 messages a minute); -1: system busy.
RETRY_CODES = frozenset({45009, -1})
# WeCom's limits are in bytes (markdown 4096, text 2048); in characters, a CJK one is 3 bytes.
MARKDOWN_CHARS = 1300
TEXT_CHARS = 650


class WeComChannel:
    name = "wecom"

    def __init__(self, http: httpx.AsyncClient, url: str, timeout: float) -> None:
        self._http = http
        self._url = url
        self._timeout = timeout

    def payload(self, message: OutboundMessage) -> dict[str, object]:
        link = _common.link_of(message)
        address = message.address.strip()
        mobile = "@all" if address == "@all" else _common.mobile_number(address)
        if mobile is not None:
            text = f"{message.subject}\n{message.body}" if message.subject else message.body
            return {
                "msgtype": "text",
                "text": {
                    "content": _common.text_with_link(text, link, TEXT_CHARS),
                    "mentioned_mobile_list": [mobile],
                },
            }
        text = f"**{message.subject}**\n\n{message.body}" if message.subject else message.body
        return {
            "msgtype": "markdown",
            "markdown": {"content": _common.text_with_link(text, link, MARKDOWN_CHARS)},
        }

    async def send(self, message: OutboundMessage) -> SendResult:
        answer = await _common.post(
            self._http,
            self._url,
            PROVIDER,
            content=_common.json_body(self.payload(message)),
            headers=_common.JSON_HEADERS,
            timeout=self._timeout,
        )
        if not isinstance(answer, httpx.Response):
            return answer
        return _common.errcode_result(answer, PROVIDER, RETRY_CODES)


@register("wecom")
def build(env: ChannelEnv) -> WeComChannel | None:
    url = env.settings.wecom_webhook_url
    if not url:
        return None
    return WeComChannel(env.http, url, env.settings.http_timeout_seconds)
