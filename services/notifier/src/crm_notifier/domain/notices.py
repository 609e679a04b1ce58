"""Notices to the administrators about the notifier's own health (a partner webhook disabled
after sustained failure): a notification to every active admin, on their channels, written
in the caller's transaction (the one that made the decision), so the notice exists if and
only if the decision does."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.domain.context import RequestContext
from crm_notifier.domain.kinds import Kind
from crm_notifier.domain.notify import deliver_plans
from crm_notifier.domain.rules import Plan, admins


async def notify_admins(
    session: AsyncSession, ctx: RequestContext, *, kind: Kind, facts: dict[str, Any]
) -> int:
    recipients = await admins(session)
    if not recipients:
        return 0
    return await deliver_plans(session, ctx, [Plan(kind, recipients, facts)], None)


__all__ = ["notify_admins"]
