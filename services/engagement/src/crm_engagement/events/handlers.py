"""Events the engagement service consumes (tolerant reader: only the fields it needs).

Each handler runs in the consumer's transaction, which also records the event in the inbox,
so a redelivery of the same event id changes nothing."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from functools import partial

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db.followup_models import UserReplica
from crm_engagement.db.models import CustomerReplica
from crm_engagement.domain import following
from crm_engagement.domain.context import RequestContext, system_context
from crm_engagement.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.db import stage_upsert_if_newer
from crm_platform.events import CloudEvent
from crm_platform.events.consumer import Handler

log = logging.getLogger(__name__)


class CustomerState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    code: str
    name: str
    owner_id: str
    lifecycle: str
    grade: str | None = None
    archived: bool = False
    version: int = 0


async def replicate_customer(session: AsyncSession, event: CloudEvent) -> None:
    """Upsert the replica (at commit, with the batch's other rows); an older state never
    overwrites a newer one.

    ``customer.created``/``updated``/``archived``/``restored`` carry the customer's state as
    ``data``; ``customer.owner_changed``, ``graded``, ``lifecycle_changed``, ``reviewed`` and
    ``merged`` nest it under ``data.customer``.
    """
    state = CustomerState.model_validate(event.data.get("customer", event.data))
    values = {
        "id": state.id,
        "code": state.code,
        "name": state.name,
        "owner_id": state.owner_id,
        "lifecycle": state.lifecycle,
        "grade": state.grade,
        "archived": state.archived,
        "source_version": state.version,
        "source_event_time": event.time,
        "replicated_at": datetime.now(UTC),
    }
    stage_upsert_if_newer(session, CustomerReplica.__table__, values)


async def follow_customer(session: AsyncSession, event: CloudEvent, ctx: RequestContext) -> None:
    """Owner changes re-point open work, grade changes re-plan, a new prospect waits for its
    first follow-up; then the replica takes the new state."""
    state = CustomerState.model_validate(event.data.get("customer", event.data))
    await following.customer_changed(
        session,
        ctx,
        following.CustomerChange(
            id=state.id,
            code=state.code,
            name=state.name,
            owner_id=state.owner_id,
            lifecycle=state.lifecycle,
            grade=state.grade,
            archived=state.archived,
            version=state.version,
            event_type=event.type.removeprefix("crm."),
            event_time=event.time,
        ),
    )
    await replicate_customer(session, event)


class Merged(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source_id: uuid.UUID


async def on_customer_merged(session: AsyncSession, event: CloudEvent, ctx: RequestContext) -> None:
    """The merged customer's records move to the survivor (the snapshot's customer)."""
    merged = Merged.model_validate(event.data)
    survivor = CustomerState.model_validate(event.data["customer"])
    await following.customer_merged(session, ctx, merged.source_id, survivor.id)
    await follow_customer(session, event, ctx)


class TicketResolved(BaseModel):
    """What engagement reads of ``ticket.resolved``: a complaint is ``complaint: true`` or
    ``category``/``kind`` ``complaint``."""

    model_config = ConfigDict(extra="ignore")

    id: str
    customer_id: uuid.UUID | None = None
    code: str | None = None
    complaint: bool = False
    category: str | None = None
    kind: str | None = None
    resolution: str | None = None
    resolved_at: datetime | None = None

    @property
    def is_complaint(self) -> bool:
        return self.complaint or "complaint" in (self.category, self.kind)


async def on_ticket_resolved(session: AsyncSession, event: CloudEvent, ctx: RequestContext) -> None:
    ticket = TicketResolved.model_validate(event.data)
    if not ticket.is_complaint or ticket.customer_id is None:
        return
    done = await following.complaint_resolved(
        session,
        ctx,
        customer_id=ticket.customer_id,
        ticket_ref=ticket.code or ticket.id,
        resolution=ticket.resolution,
        resolved_at=ticket.resolved_at or event.time,
    )
    if not done:
        log.warning("ticket.resolved %s names unknown customer %s", ticket.id, ticket.customer_id)


class UserState(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    username: str
    display_name: str
    email: str | None = None
    mobile: str | None = None
    roles: list[str] = []
    team: str | None = None
    active: bool = True
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
        "team": user.team,
        "active": user.active and event.type != "crm.user.disabled",
        "source_version": user.version,
        "replicated_at": datetime.now(UTC),
    }
    stage_upsert_if_newer(session, UserReplica.__table__, values)


FOLLOWED_CUSTOMER_EVENTS = (
    "customer.created",
    "customer.updated",
    "customer.owner_changed",
    "customer.archived",
    "customer.restored",
    "customer.graded",
    "customer.lifecycle_changed",
)
CUSTOMER_MERGED = "customer.merged"
TICKET_RESOLVED = "ticket.resolved"
USER_EVENTS = ("user.created", "user.updated", "user.disabled")


def build_handlers(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> dict[str, Handler]:
    """The consumer's handlers, bound to this service's settings and clock."""
    ctx = system_context(settings, clock)
    handlers: dict[str, Handler] = dict.fromkeys(
        FOLLOWED_CUSTOMER_EVENTS, partial(follow_customer, ctx=ctx)
    )
    handlers[CUSTOMER_MERGED] = partial(on_customer_merged, ctx=ctx)
    handlers[TICKET_RESOLVED] = partial(on_ticket_resolved, ctx=ctx)
    handlers.update(dict.fromkeys(USER_EVENTS, replicate_user))
    return handlers


HANDLED_TYPES = (*FOLLOWED_CUSTOMER_EVENTS, CUSTOMER_MERGED, TICKET_RESOLVED, *USER_EVENTS)

# The handlers with the environment's defaults (what tests and the catalogue read); the
# service binds its own settings and clock (``main.create_app``).
HANDLERS = build_handlers(Settings.model_construct())
