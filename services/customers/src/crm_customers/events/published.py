"""Events the customers service publishes, and their payloads (owned here)."""

from pydantic import BaseModel

from crm_platform.events import CloudEvent

SERVICE = "customers"
CUSTOMER_CREATED = "customer.created"


class CustomerSnapshot(BaseModel):
    """The state other services replicate (event-carried state transfer)."""

    id: str
    code: str
    kind: str
    name: str
    industry: str
    lifecycle: str
    owner_id: str
    grade: str | None = None
    version: int


PAYLOADS: dict[str, type[BaseModel]] = {CUSTOMER_CREATED: CustomerSnapshot}
"""Every event type this service publishes and its ``data`` model (checked against asyncapi)."""

PUBLISHED_TYPES = list(PAYLOADS)


def customer_created(snapshot: CustomerSnapshot, *, actor: str) -> CloudEvent:
    return CloudEvent.new(
        service=SERVICE,
        routing_key=CUSTOMER_CREATED,
        subject=snapshot.id,
        data=snapshot.model_dump(mode="json"),
        actor=actor,
    )
