"""New-record review (seed 002 §1: 信息审核): with ``customer_review_new`` on, new customers
start ``pending``; a manager approves them, or rejects them with a reason the owner reads,
corrects the record and resubmits it.

A pending (or rejected) customer is otherwise an ordinary record: its owner and managers see
and edit it as usual, and ``review_status`` travels in every customer snapshot so other
services can tell. Managers find the queue with ``GET /v1/customers?review_status=pending``.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import approval_repository
from crm_customers.db.approval_models import ReviewDecision
from crm_customers.domain import access
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import ReviewStatus
from crm_customers.domain.records import (
    CustomerView,
    apply_changes,
    ensure_version,
    load_for_change,
    load_visible,
)
from crm_platform.errors import Conflict


class ReviewAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class ReviewOutcome:
    view: CustomerView
    decision: ReviewDecision


async def decide(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    action: ReviewAction,
    *,
    reason: str | None,
    expected_version: int | None,
) -> ReviewOutcome:
    """A manager's decision on a pending customer; ``customer.updated`` carries the status."""
    access.ensure_approver(ctx.identity)
    customer = await load_visible(session, ctx, customer_id, for_update=True)
    if expected_version is not None:
        ensure_version(customer, expected_version)
    if customer.review_status != ReviewStatus.PENDING:
        raise Conflict(
            f"Customer {customer.code} is not waiting for review (it is {customer.review_status}).",
            slug="not-pending-review",
            review_status=customer.review_status,
        )
    status = ReviewStatus.APPROVED if action == ReviewAction.APPROVE else ReviewStatus.REJECTED
    view = await apply_changes(
        session, ctx, customer, {"review_status": status.value}, reason="review"
    )
    decision = _record(session, ctx, customer_id, status.value, reason)
    await session.flush()
    return ReviewOutcome(view, decision)


async def resubmit(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    *,
    reason: str | None,
    expected_version: int | None,
) -> ReviewOutcome:
    """After a rejection the owner corrects the record and puts it back in the queue."""
    customer = await load_for_change(session, ctx, customer_id, expected_version)
    if customer.review_status != ReviewStatus.REJECTED:
        raise Conflict(
            f"Only a rejected customer can be resubmitted; {customer.code} is "
            f"{customer.review_status}.",
            slug="not-rejected",
            review_status=customer.review_status,
        )
    view = await apply_changes(
        session, ctx, customer, {"review_status": ReviewStatus.PENDING.value}, reason="review"
    )
    decision = _record(session, ctx, customer_id, "resubmitted", reason)
    await session.flush()
    return ReviewOutcome(view, decision)


async def history(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID
) -> list[ReviewDecision]:
    """Every decision and resubmission, newest first (the rejection reasons stay readable)."""
    await load_visible(session, ctx, customer_id)
    return await approval_repository.review_decisions_of(session, customer_id)


def _record(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    decision: str,
    reason: str | None,
) -> ReviewDecision:
    record = ReviewDecision(
        customer_id=customer_id,
        decision=decision,
        reason=reason,
        decided_by=ctx.actor,
        decided_at=datetime.now(UTC),
    )
    session.add(record)
    return record
