"""Lifecycle automation (SPEC §1, seed 000 §3.1): what other services' facts do to a customer.

A follow-up with positive feedback turns a prospect into intent; a won opportunity makes the
customer won. The change goes through ``customers.apply_changes`` like a manual edit, so the
version moves and ``customer.updated`` + ``customer.lifecycle_changed`` are staged, with the
consumed event as their cause. Manual changes stay possible at any time (PATCH).

These use cases run inside the event consumer's transaction (which also writes the inbox row),
so unlike request use cases they never begin or commit one themselves.
"""

import logging
import uuid
from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository
from crm_customers.db.models import Customer
from crm_customers.domain import customers
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import Lifecycle
from crm_customers.settings import CustomersSettings
from crm_platform.crypto import FieldCipher
from crm_platform.identity import SYSTEM_ROLE, Identity

log = logging.getLogger(__name__)

AUTOMATION_IDENTITY = Identity(
    subject="system:customers-automation", roles=frozenset({SYSTEM_ROLE}), name="Automation"
)
"""Who the automated changes are attributed to (``actor`` of the events they stage)."""

POSITIVE_FEEDBACK = "positive"
MAX_MERGE_HOPS = 5

LifecycleRule = Callable[[str], str | None]


def automation_context(settings: CustomersSettings) -> RequestContext:
    return RequestContext(
        identity=AUTOMATION_IDENTITY, settings=settings, cipher=FieldCipher(settings.data_key)
    )


def lifecycle_after_followup(current: str, feedback: str) -> str | None:
    """Only positive feedback on a prospect moves it (to intent); anything else leaves it."""
    if feedback != POSITIVE_FEEDBACK:
        return None
    return customers.lifecycle_after_positive_feedback(current)


def lifecycle_after_won_opportunity(current: str) -> str | None:
    """A won deal makes any prospect, intent or lost customer won; a won one stays as it is."""
    return None if current == Lifecycle.WON else Lifecycle.WON.value


async def _load_current(session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    """The customer, locked; a customer merged away is represented by the one it went into."""
    customer = await repository.get_customer(session, customer_id, for_update=True)
    hops = 0
    while customer is not None and customer.merged_into is not None and hops < MAX_MERGE_HOPS:
        customer = await repository.get_customer(session, customer.merged_into, for_update=True)
        hops += 1
    return customer


async def apply_lifecycle_rule(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    rule: LifecycleRule,
    *,
    reason: str,
    cause_event_id: str,
) -> str | None:
    """Move the customer where ``rule`` says, in the caller's open transaction.

    Returns the new lifecycle, or None when nothing changed. An unknown customer is logged and
    ignored: retrying cannot make it appear, and parking would only hide real failures.
    """
    customer = await _load_current(session, customer_id)
    if customer is None:
        log.warning(
            "lifecycle automation: %s names unknown customer %s; ignored",
            reason,
            customer_id,
            extra={"event_id": cause_event_id},
        )
        return None
    target = rule(customer.lifecycle)
    if target is None or target == customer.lifecycle:
        return None
    await customers.apply_changes(
        session,
        ctx,
        customer,
        {"lifecycle": target},
        reason=reason,
        causation_id=cause_event_id,
    )
    log.info(
        "lifecycle automation: customer %s moved to %s (%s %s)",
        customer.code,
        target,
        reason,
        cause_event_id,
    )
    return target
