"""What every use case needs to know about the request (or event, or SLA scan) it serves."""

from dataclasses import dataclass

from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.identity import SYSTEM_ROLE, Identity
from crm_service_desk.settings import Settings


@dataclass(frozen=True)
class RequestContext:
    identity: Identity
    settings: Settings
    clock: Clock = SYSTEM_CLOCK

    @property
    def actor(self) -> str:
        return self.identity.subject


def system_context(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> RequestContext:
    """The context of work nobody asked for in a request: events and the SLA checker."""
    return RequestContext(
        identity=Identity(subject="system", roles=frozenset({SYSTEM_ROLE}), name="system"),
        settings=settings,
        clock=clock,
    )
