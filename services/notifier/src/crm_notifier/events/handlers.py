"""Events the notifier consumes (tolerant reader: only the fields it needs).

Every event reaches the notifier (its queue is bound to ``#``): each is offered to the partner
webhooks whose patterns match (``webhooks.fan_out``); replica events keep the users, contacts
and customers it reaches; the event types of ``domain.rules`` become notifications. All of it in
the consumer's transaction with the event's inbox row, so a redelivery adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db.models import ContactReplica, CustomerReplica, UserReplica
from crm_notifier.domain import notify, rules, webhooks
from crm_notifier.domain.context import RequestContext, system_context
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.db import upsert_if_newer
from crm_platform.events import CloudEvent
from crm_platform.events.consumer import ANY_EVENT

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


class UserState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    username: str
    display_name: str
    email: str | None = None
    mobile: str | None = None
    roles: list[str] = []
    active: bool = True
    version: int = 0


class OptOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: bool = False
    sms: bool = False
    wechat: bool = False


class ContactState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    email: str | None = None
    mobile: str | None = None
    is_primary: bool = False
    marketing_opt_out: OptOut = OptOut()
    archived: bool = False
    version: int = 0


class CustomerState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    code: str
    name: str
    owner_id: str
    version: int = 0


async def replicate_user(session: AsyncSession, event: CloudEvent) -> None:
    user = UserState.model_validate(event.data)
    values = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "mobile": user.mobile,
        "roles": user.roles,
        "active": user.active and event.routing_key != "user.disabled",
        "source_version": user.version,
        "replicated_at": datetime.now(UTC),
    }
    await upsert_if_newer(session, UserReplica.__table__, values)


async def replicate_contact(session: AsyncSession, event: CloudEvent) -> None:
    contact = ContactState.model_validate(event.data)
    values = {
        "id": contact.id,
        "customer_id": contact.customer_id,
        "name": contact.name,
        "email": contact.email,
        "mobile": contact.mobile,
        "is_primary": contact.is_primary,
        "opt_out_email": contact.marketing_opt_out.email,
        "opt_out_sms": contact.marketing_opt_out.sms,
        "opt_out_wechat": contact.marketing_opt_out.wechat,
        "archived": contact.archived,
        "source_version": contact.version,
        "replicated_at": datetime.now(UTC),
    }
    await upsert_if_newer(session, ContactReplica.__table__, values)


async def replicate_customer(session: AsyncSession, event: CloudEvent) -> None:
    customer = CustomerState.model_validate(event.data.get("customer", event.data))
    values = {
        "id": customer.id,
        "code": customer.code,
        "name": customer.name,
        "owner_id": customer.owner_id,
        "source_version": customer.version,
        "replicated_at": datetime.now(UTC),
    }
    await upsert_if_newer(session, CustomerReplica.__table__, values)


async def handle(
    session: AsyncSession,
    event: CloudEvent,
    *,
    ctx: RequestContext,
    replicate: Handler | None = None,
) -> None:
    """Partners first, then the replica, then the people it concerns."""
    await webhooks.fan_out(session, event, clock=ctx.clock)
    if replicate is not None:
        await replicate(session, event)
    plans = await rules.plans_for(session, event)
    if plans:
        await notify.deliver_plans(session, ctx, plans, event)


USER_EVENTS = ("user.created", "user.updated", "user.disabled")
CUSTOMER_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.owner_changed",
    "customer.archived",
    "customer.restored",
)
CONTACT_EVENTS = ("contact.changed",)


def build_handlers(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> dict[str, Handler]:
    """Every event type the notifier reads, and ``#`` for the rest (partners only)."""
    ctx = system_context(settings, clock)
    replicas: dict[str, Handler] = {
        **dict.fromkeys(USER_EVENTS, replicate_user),
        **dict.fromkeys(CUSTOMER_EVENTS, replicate_customer),
        **dict.fromkeys(CONTACT_EVENTS, replicate_contact),
    }
    types = {*replicas, *rules.RULES}
    handlers: dict[str, Handler] = {
        t: partial(handle, ctx=ctx, replicate=replicas.get(t)) for t in sorted(types)
    }
    handlers[ANY_EVENT] = partial(handle, ctx=ctx)
    return handlers


HANDLERS = build_handlers(Settings())
