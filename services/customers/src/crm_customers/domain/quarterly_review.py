"""Quarterly review (seed 002: 每季度末由客户经理对负责客户的信息进行复核、更新客户状态).

A customer is due when it has not been reviewed since the current quarter began, quarters
counted in settings.timezone. Reviewing sets ``last_reviewed_at`` and the activity status
(active / dormant / churned) through the customer's versioned update path. Who may review is
who may edit the customer: the owning sales rep, sales managers and admins.
"""

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db.search_spec import CustomerFilter, SortKey
from crm_customers.domain.context import RequestContext
from crm_customers.domain.customers import search_customers
from crm_customers.domain.enums import ActivityStatus
from crm_customers.domain.quarters import current_quarter_start, quarter_of
from crm_customers.domain.records import (
    CustomerView,
    apply_changes,
    load_for_change,
    snapshot_of,
    stage,
)
from crm_customers.events import published as ev
from crm_platform.errors import Conflict


def business_zone(ctx: RequestContext) -> ZoneInfo:
    return ZoneInfo(ctx.settings.timezone)


async def review_due(
    session: AsyncSession,
    ctx: RequestContext,
    flt: CustomerFilter,
    *,
    sort: SortKey,
    page: int,
    page_size: int,
    now: datetime | None = None,
) -> tuple[list[CustomerView], int]:
    """Live customers the caller sees that nobody reviewed this quarter."""
    since = current_quarter_start(now or datetime.now(UTC), business_zone(ctx))
    due = CustomerFilter(**{**flt.__dict__, "not_reviewed_since": since, "archived": False})
    return await search_customers(session, ctx, due, sort=sort, page=page, page_size=page_size)


async def mark_reviewed(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    *,
    activity_status: ActivityStatus,
    note: str | None,
    expected_version: int | None,
) -> CustomerView:
    """Record this quarter's review; ``customer.updated`` and ``customer.reviewed``."""
    customer = await load_for_change(session, ctx, customer_id, expected_version)
    if customer.archived_at is not None:
        raise Conflict(
            f"Customer {customer.code} is archived; restore it before reviewing it.",
            slug="customer-archived",
        )
    previous_status = customer.activity_status
    reviewed_at = datetime.now(UTC)
    view = await apply_changes(
        session,
        ctx,
        customer,
        {"activity_status": activity_status.value, "last_reviewed_at": reviewed_at},
        reason="quarterly_review",
    )
    stage(
        session,
        ctx,
        ev.CUSTOMER_REVIEWED,
        ev.CustomerReviewed(
            customer=snapshot_of(view.customer, view.tags),
            quarter=quarter_of(reviewed_at, business_zone(ctx)).label,
            previous_activity_status=previous_status,
            activity_status=activity_status.value,
            note=note,
            reviewed_at=reviewed_at,
        ),
        customer.id,
    )
    return view
