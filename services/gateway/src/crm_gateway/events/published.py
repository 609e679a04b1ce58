"""Events the gateway publishes, and their payloads (owned here): who the people are, so the
other services know names and addresses (notifications) without asking the gateway."""

from pydantic import BaseModel

from crm_platform.events import PublishedEvents

SERVICE = "gateway"

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DISABLED = "user.disabled"


class UserSnapshot(BaseModel):
    """A user's public state (never the password hash). ``version`` orders the states."""

    id: str
    username: str
    display_name: str
    email: str | None = None
    mobile: str | None = None
    roles: list[str]
    team: str | None = None
    manager_id: str | None = None
    active: bool
    version: int


PAYLOADS: dict[str, type[BaseModel]] = {
    USER_CREATED: UserSnapshot,
    USER_UPDATED: UserSnapshot,
    USER_DISABLED: UserSnapshot,
}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED = PublishedEvents(SERVICE, PAYLOADS)
PUBLISHED_TYPES = PUBLISHED.types
build_event = PUBLISHED.build
