"""What every use case needs to know about the request (or event, or scheduler run) it serves."""

from dataclasses import dataclass

from crm_engagement.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.identity import SYSTEM_ROLE, Identity


@dataclass(frozen=True)
class RequestContext:
    identity: Identity
    settings: Settings
    clock: Clock = SYSTEM_CLOCK

    @property
    def actor(self) -> str:
        return self.identity.subject


def system_context(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> RequestContext:
    """The context of work nobody asked for in a request: events and the scheduler."""
    return RequestContext(
        identity=Identity(subject="system", roles=frozenset({SYSTEM_ROLE}), name="system"),
        settings=settings,
        clock=clock,
    )
