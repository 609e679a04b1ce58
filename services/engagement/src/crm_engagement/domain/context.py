"""What every use case needs to know about the request (or event) it serves."""

from dataclasses import dataclass

from crm_engagement.settings import Settings
from crm_platform.identity import Identity


@dataclass(frozen=True)
class RequestContext:
    identity: Identity
    settings: Settings

    @property
    def actor(self) -> str:
        return self.identity.subject
