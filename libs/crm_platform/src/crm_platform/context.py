"""What every use case needs to know about the request (or event, or timer round) it serves:
who asks, the service's settings and the clock its time rules read. A service names its own
``RequestContext = ServiceContext[Settings]``; the HTTP edge builds one per request
(``crm_platform.http.context.service_context``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.identity import SYSTEM_ROLE, Identity
from crm_platform.settings import PlatformSettings

S = TypeVar("S", bound=PlatformSettings)

SYSTEM_IDENTITY = Identity(subject="system", roles=frozenset({SYSTEM_ROLE}), name="system")


@dataclass(frozen=True)
class ServiceContext(Generic[S]):
    identity: Identity
    settings: S
    clock: Clock = SYSTEM_CLOCK

    @property
    def actor(self) -> str:
        return self.identity.subject


def system_context(settings: S, clock: Clock = SYSTEM_CLOCK) -> ServiceContext[S]:
    """The context of work nobody asked for in a request: events and timer rounds."""
    return ServiceContext(identity=SYSTEM_IDENTITY, settings=settings, clock=clock)
