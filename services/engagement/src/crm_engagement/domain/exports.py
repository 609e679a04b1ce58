"""A customer's (or a filtered) follow-up history as an XLSX workbook (openpyxl)."""

from __future__ import annotations

import asyncio
import io

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.db.followup_repository import FollowUpFilter
from crm_engagement.domain import access, records
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.engagement_settings import load_rules
from crm_engagement.domain.enums import Feedback, FollowUpMethod, Outcome, label
from crm_platform.errors import InvalidInput

HEADERS = [
    "跟进日期 Date",
    "客户编号 Customer code",
    "客户名称 Customer",
    "跟进方式 Method",
    "沟通内容 Summary",
    "客户反馈 Feedback",
    "跟进结果 Outcome",
    "跟进人 Follower",
    "下次跟进时间 Next follow-up",
    "行动项 Action items",
]


def _csv_safe(value: str) -> str:
    """A cell starting with = + - @ would be a formula in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


async def export_xlsx(session: AsyncSession, ctx: RequestContext, flt: FollowUpFilter) -> bytes:
    if flt.customer_id is not None:
        await records.customer_for_read(session, ctx, flt.customer_id)
    scoped = FollowUpFilter(**{**flt.__dict__, "owner_id": access.owner_scope(ctx.identity)})
    limit = ctx.settings.followup_export_max_rows
    rows, total = await repo.list_followups(session, scoped, offset=0, limit=limit + 1)
    if total > limit:
        raise InvalidInput(
            f"{total} follow-ups match; narrow the filter to at most {limit}.",
            slug="export-too-large",
        )
    rules = await load_rules(session, ctx.settings)
    items = await repo.action_items_of(session, [f.id for f in rows])
    by_followup: dict[object, list[str]] = {}
    for item in items:
        due = f" ({item.due_on.isoformat()})" if item.due_on else ""
        mark = "✓ " if item.done else ""
        by_followup.setdefault(item.followup_id, []).append(
            f"{mark}{item.action} → {item.assignee_id}{due}"
        )
    names = await repo.user_names(session, {f.follower_id for f in rows})
    customers = {}
    for customer_id in {f.customer_id for f in rows}:
        customers[customer_id] = await repo.get_customer(session, customer_id)
    table = []
    for f in rows:
        customer = customers.get(f.customer_id)
        next_at = (
            f.next_follow_up_at.astimezone(rules.zone).strftime("%Y-%m-%d %H:%M")
            if f.next_follow_up_at
            else ""
        )
        table.append(
            [
                f.occurred_on.isoformat(),
                customer.code if customer else "",
                customer.name if customer else "",
                label(FollowUpMethod, f.method),
                f.summary,
                label(Feedback, f.feedback),
                label(Outcome, f.outcome),
                names.get(f.follower_id, f.follower_id),
                next_at,
                "\n".join(by_followup.get(f.id, [])),
            ]
        )
    return await asyncio.to_thread(_workbook, table)


def _workbook(table: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("跟进记录")
    sheet.append(HEADERS)
    for row in table:
        sheet.append([_csv_safe(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
