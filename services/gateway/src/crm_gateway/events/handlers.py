"""Events the gateway consumes (tolerant reader: only the fields it needs).

``customer.sensitive_read``: the customers service read a sensitive field unmasked for
someone; the gateway keeps the audit trail, so it records the read there. The consumer's
inbox row is written in the same transaction, so a redelivered event records nothing more.
"""

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_gateway.domain import audit
from crm_gateway.domain.audit import Caller
from crm_platform.events import CloudEvent
from crm_platform.events.consumer import Handler

CUSTOMER_SENSITIVE_READ = "customer.sensitive_read"


class SensitiveRead(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer_id: str
    fields: list[str]
    reader_id: str
    reader_roles: list[str] = []


async def on_sensitive_read(session: AsyncSession, event: CloudEvent) -> None:
    read = SensitiveRead.model_validate(event.data)
    await audit.record(
        session,
        Caller(user_id=read.reader_id[:100]),
        audit.SENSITIVE_READ,
        target=f"customer:{read.customer_id}"[:200],
        at=event.time,
        details={
            "fields": read.fields,
            "reader_roles": read.reader_roles,
            "event_id": str(event.id),
            "source": event.source,
        },
    )


HANDLERS: dict[str, Handler] = {CUSTOMER_SENSITIVE_READ: on_sensitive_read}
