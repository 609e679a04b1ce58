"""The one interface every delivery channel implements, and the registry that finds them.

A channel turns one ``OutboundMessage`` (already rendered from its template, addressed) into
one attempt at delivery and says how it went: ``Delivered``, ``Retry`` (the receiver is down
or busy: try again later, with backoff) or ``Failed`` (it can never work: a malformed address,
a 4xx the provider means). It never raises for the receiver's sake; an exception is a bug and
is treated as a retry by the dispatcher. Adding a channel is one module that calls
``register`` (``channels/__init__.py`` imports them all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from crm_notifier.settings import Settings


@dataclass(frozen=True)
class OutboundMessage:
    channel: str
    address: str  # an email address, a mobile number, a user id (inbox), a webhook URL …
    subject: str
    body: str
    locale: str = "zh-CN"
    urgent: bool = False
    # What the message is about, for channels that show or sign it: notification id,
    # kind, event id and type, a link (the survey URL) …
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivered:
    detail: str = ""


@dataclass(frozen=True)
class Retry:
    reason: str


@dataclass(frozen=True)
class Failed:
    reason: str


SendResult = Delivered | Retry | Failed


class Channel(Protocol):
    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...


@dataclass(frozen=True)
class ChannelEnv:
    """What a channel is built from: the settings and the process's shared HTTP client."""

    settings: Settings
    http: httpx.AsyncClient


ChannelFactory = Callable[[ChannelEnv], Channel | None]  # None: not configured here
_FACTORIES: dict[str, ChannelFactory] = {}


def register(name: str) -> Callable[[ChannelFactory], ChannelFactory]:
    def add(factory: ChannelFactory) -> ChannelFactory:
        _FACTORIES[name] = factory
        return factory

    return add


def build_channels(env: ChannelEnv) -> dict[str, Channel]:
    """Every registered channel that is configured in ``env``'s settings."""
    channels = {}
    for name, factory in _FACTORIES.items():
        channel = factory(env)
        if channel is not None:
            channels[name] = channel
    return channels


def registered() -> list[str]:
    return sorted(_FACTORIES)


_probe_client: httpx.AsyncClient | None = None


def configured_channels(settings: Settings) -> list[str]:
    """The names of the channels ``settings`` configure (their factories build one; the
    client they are handed is never used for a request here)."""
    global _probe_client
    if _probe_client is None:
        _probe_client = httpx.AsyncClient()
    return sorted(build_channels(ChannelEnv(settings=settings, http=_probe_client)))
