"""What the HTTP channels share: one POST classified into a ``SendResult``, the shape of a
mobile number, and a message's text with its link kept whole."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from crm_notifier.channels.base import Delivered, Failed, OutboundMessage, Retry

_MOBILE = re.compile(r"^\+?\d{5,15}$")
_SNIPPET = 160


def mobile_number(address: str) -> str | None:
    """``address`` as a mobile number (spaces and dashes dropped), or None if it is none."""
    number = re.sub(r"[\s\-()]", "", address)
    return number if _MOBILE.match(number) else None


def link_of(message: OutboundMessage) -> str | None:
    link = message.facts.get("link")
    return str(link) if link else None


def text_with_link(text: str, link: str | None, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with ``link`` whole when there is one."""
    if link is None:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    if link in text and len(text) <= limit:
        return text
    rest = text.replace(link, "").strip()
    room = limit - len(link) - 1
    if room <= 0:
        return link
    if len(rest) > room:
        rest = rest[: room - 1].rstrip() + "…"
    return f"{rest}\n{link}" if rest else link


def snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def status_result(status: int, provider: str, body: str) -> Retry | Failed | None:
    """None for a 2xx; Retry for 408, 429 and 5xx; Failed for the other answers."""
    if 200 <= status < 300:
        return None
    reason = f"HTTP {status} from {provider}"
    if body.strip():
        reason += f": {snippet(body)}"
    if status in (408, 429) or status >= 500:
        return Retry(reason)
    return Failed(reason)


async def post(
    http: httpx.AsyncClient,
    url: str,
    provider: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
) -> httpx.Response | Retry | Failed:
    """POST ``content``; the response when it is a 2xx, else what the attempt came to."""
    try:
        response = await http.post(url, content=content, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return Retry(f"no answer from {provider} within {timeout:g} s")
    except httpx.TransportError as exc:
        return Retry(f"{provider} unreachable: {type(exc).__name__} {snippet(str(exc))}".rstrip())
    except httpx.InvalidURL as exc:  # the configured URL: the operator's to fix
        return Retry(f"{provider} URL is invalid: {exc}")
    problem = status_result(response.status_code, provider, response.text)
    return response if problem is None else problem


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def errcode_result(
    response: httpx.Response, provider: str, retry_codes: frozenset[int]
) -> Delivered | Retry | Failed:
    """A group bot's answer, HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` on success."""
    try:
        answer = response.json()
        code = int(answer["errcode"])
    except (ValueError, KeyError, TypeError):
        return Retry(f"unreadable answer from {provider}: {snippet(response.text)}")
    if code == 0:
        return Delivered(f"{provider} errcode 0")
    reason = f"{provider} errcode {code}: {snippet(str(answer.get('errmsg', '')))}"
    return Retry(reason) if code in retry_codes else Failed(reason)
