"""The long tail of services through the Apprise library: the targets are ``apprise_urls``
(space-separated), or the message's address when it is itself an Apprise URL. Apprise is
blocking, so each delivery runs in a worker thread, bounded by ``http_timeout_seconds``.

Apprise says only whether every target took the message, so anything short of that is a
Retry (with the last warning Apprise logged for the delivery as the reason); a URL Apprise
cannot use is Failed."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import apprise

from crm_notifier.channels import _common
from crm_notifier.channels.base import (
    ChannelEnv,
    Delivered,
    Failed,
    OutboundMessage,
    Retry,
    SendResult,
    register,
)

# Beyond Apprise's own deadline, how long to wait for its thread before giving up on it.
_GRACE_SECONDS = 5.0


def scheme_of(url: str) -> str:
    """What may be shown of an Apprise URL: its scheme (the rest may hold tokens)."""
    return urlsplit(url).scheme or "?"


def last_problem(result: apprise.AppriseResult) -> str | None:
    problems = [
        entry.message
        for entry in result.logs()
        if entry.level in ("WARNING", "ERROR", "CRITICAL") and entry.message
    ]
    return _common.snippet(problems[-1]) if problems else None


class AppriseChannel:
    name = "apprise"

    def __init__(self, urls: list[str], timeout: float) -> None:
        self._urls = urls
        self._timeout = timeout

    def targets(self, message: OutboundMessage) -> list[str]:
        address = message.address.strip()
        return [address] if "://" in address else self._urls

    def _notify(self, targets: list[str], message: OutboundMessage) -> SendResult:
        notifier = apprise.Apprise()
        for url in targets:
            if not notifier.add(url):
                return Failed(f"not a usable apprise URL ({scheme_of(url)}://…)")
        body = message.body.rstrip()
        link = _common.link_of(message)
        if link and link not in body:
            body = f"{body}\n\n{link}" if body else link
        result = notifier.notify(
            body=body or message.subject,
            title=message.subject,
            notify_type=apprise.NotifyType.WARNING if message.urgent else apprise.NotifyType.INFO,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self._timeout,
        )
        try:
            if result:
                return Delivered(f"apprise: {result.success_count} target(s)")
            status = result.status.name.lower()
            problem = last_problem(result)
            reason = f"apprise {status}" + (f": {problem}" if problem else "")
            if result.status == apprise.AppriseResultStatus.NOMATCH:
                return Failed(reason)
            return Retry(reason)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._notify, self.targets(message), message),
                self._timeout + _GRACE_SECONDS,
            )
        except TimeoutError:
            return Retry(f"apprise gave no answer within {self._timeout:g} s")


@register("apprise")
def build(env: ChannelEnv) -> AppriseChannel | None:
    """None without ``apprise_urls``; a URL Apprise cannot use is a configuration error, raised
    here, at start-up."""
    urls = (env.settings.apprise_urls or "").split()
    if not urls:
        return None
    for url in urls:
        if not apprise.Apprise().add(url):
            raise ValueError(f"CRM_APPRISE_URLS: not a usable apprise URL ({scheme_of(url)}://…)")
    return AppriseChannel(urls, env.settings.http_timeout_seconds)
