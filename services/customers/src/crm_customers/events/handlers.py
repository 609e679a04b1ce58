"""Events the customers service consumes (tolerant reader: only the fields it needs).

The engagement service owns these events and their full payloads; this service reads just
enough to run the lifecycle automation (``domain.lifecycle_automation``). Each handler runs in
the consumer's transaction, which also records the event in the inbox, so a redelivery of the
same event id changes nothing.
"""

import uuid
from functools import partial

from pydantic import BaseModel, ConfigDict
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.domain import lifecycle_automation as automation
from crm_customers.domain.context import RequestContext
from crm_customers.settings import CustomersSettings
from crm_platform.events import CloudEvent
from crm_platform.events.consumer import Handler

FOLLOWUP_LOGGED = "followup.logged"
OPPORTUNITY_WON = "opportunity.won"


class FollowUpLogged(BaseModel):
    """What customers reads of ``followup.logged``; feedback stays a plain string so a new
    feedback value from the producer changes nothing here instead of failing."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    customer_id: uuid.UUID
    feedback: str


class OpportunityWon(BaseModel):
    """What customers reads of ``opportunity.won`` (amount and contract stay engagement's)."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    customer_id: uuid.UUID


async def on_followup_logged(session: AsyncSession, event: CloudEvent, ctx: RequestContext) -> None:
    followup = FollowUpLogged.model_validate(event.data)
    await automation.apply_lifecycle_rule(
        session,
        ctx,
        followup.customer_id,
        partial(automation.lifecycle_after_followup, feedback=followup.feedback),
        reason=FOLLOWUP_LOGGED,
        cause_event_id=str(event.id),
    )


async def on_opportunity_won(session: AsyncSession, event: CloudEvent, ctx: RequestContext) -> None:
    won = OpportunityWon.model_validate(event.data)
    await automation.apply_lifecycle_rule(
        session,
        ctx,
        won.customer_id,
        automation.lifecycle_after_won_opportunity,
        reason=OPPORTUNITY_WON,
        cause_event_id=str(event.id),
    )


def build_handlers(settings: CustomersSettings) -> dict[str, Handler]:
    """The consumer's handlers, bound to this service's settings (the data key decrypts what
    the staged snapshots need, as in a request)."""
    ctx = automation.automation_context(settings)
    return {
        FOLLOWUP_LOGGED: partial(on_followup_logged, ctx=ctx),
        OPPORTUNITY_WON: partial(on_opportunity_won, ctx=ctx),
    }
