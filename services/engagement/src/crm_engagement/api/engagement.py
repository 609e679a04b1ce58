"""Routes under /v1/engagement: overdue customers (cadence), reminders, maintenance-plan
tasks, the rules' settings (admin), and the codes and labels of this service's enums."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from crm_engagement.api.dependencies import Context
from crm_engagement.api.schemas import (
    OverdueOut,
    OverduePageOut,
    PlanTaskOut,
    PlanTaskPageOut,
    ReminderOut,
    ReminderPageOut,
    SettingsOut,
    SettingsPatch,
)
from crm_engagement.domain import cadence, plans, reminders
from crm_engagement.domain.commands import UpdateSettings
from crm_engagement.domain.engagement_settings import SettingsView, get_settings, update_settings
from crm_engagement.domain.enums import ENUM_NAMES, LABELS, PlanTaskStatus
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/engagement", tags=["engagement"])

PageQuery = Annotated[int, Query(ge=1, le=100_000)]
PageSizeQuery = Annotated[int, Query(ge=1, le=200)]
UserQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("/overdue", response_model=OverduePageOut)
async def overdue_customers(
    session: SessionDep,
    ctx: Context,
    owner_id: UserQuery = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> OverduePageOut:
    """Customers past their grade's cadence, longest-waiting first (a rep: their own)."""
    found = await cadence.overdue(session, ctx, owner_id=owner_id, page=page, page_size=page_size)
    return OverduePageOut(
        items=[
            OverdueOut(
                customer_id=v.row.customer_id,
                code=v.row.code,
                name=v.row.name,
                owner_id=v.row.owner_id,
                grade=v.row.grade,
                last_follow_up_on=v.row.last_follow_up_on,
                overdue_since=v.overdue_since,
                days_overdue=v.days_overdue,
            )
            for v in found.views
        ],
        total=found.total,
        page=page,
        page_size=page_size,
    )


@router.get("/reminders", response_model=ReminderPageOut)
async def list_reminders(
    session: SessionDep,
    ctx: Context,
    recipient_id: UserQuery = None,
    fired: bool | None = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> ReminderPageOut:
    found = await reminders.list_reminders(
        session, ctx, recipient_id=recipient_id, fired=fired, page=page, page_size=page_size
    )
    return ReminderPageOut(
        items=[ReminderOut.of(r) for r in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


@router.get("/plans", response_model=PlanTaskPageOut)
async def list_plan_tasks(
    session: SessionDep,
    ctx: Context,
    customer_id: uuid.UUID | None = None,
    owner_id: UserQuery = None,
    status: PlanTaskStatus | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> PlanTaskPageOut:
    """Maintenance-plan tasks by due date (a rep: their own)."""
    found = await plans.list_tasks(
        session,
        ctx,
        customer_id=customer_id,
        owner_id=owner_id,
        status=status.value if status else None,
        due_from=due_from,
        due_to=due_to,
        page=page,
        page_size=page_size,
    )
    return PlanTaskPageOut(
        items=[PlanTaskOut.of(t) for t in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


def _settings_out(view: SettingsView) -> SettingsOut:
    rules = view.rules
    return SettingsOut(
        version=rules.version,
        reminder_hour=rules.reminder_hour,
        timezone=rules.timezone,
        summary_min_length=rules.summary_min_length,
        cadence_days=dict(rules.cadence_days),
        plan_templates=dict(rules.raw_templates),
        plan_horizon_months=rules.plan_horizon_months,
        first_follow_up_hours=rules.first_follow_up_hours,
        updated_by=view.updated_by,
        updated_at=view.updated_at,
    )


@router.get("/settings", response_model=SettingsOut)
async def read_settings(session: SessionDep, ctx: Context, response: Response) -> SettingsOut:
    view = await get_settings(session, ctx)
    response.headers["etag"] = f'"{view.rules.version}"'
    return _settings_out(view)


@router.patch("/settings", response_model=SettingsOut)
async def change_settings(
    body: SettingsPatch,
    session: SessionDep,
    ctx: Context,
    response: Response,
    if_match: IfMatch = None,
) -> SettingsOut:
    """Admin only (系统设置-提醒规则): send the version read (0 before the first change)."""
    view = await update_settings(
        session,
        ctx,
        UpdateSettings(
            changes=body.changes(), expected_version=expected_version(body.version, if_match)
        ),
    )
    response.headers["etag"] = f'"{view.rules.version}"'
    return _settings_out(view)


@router.get("/enums")
async def enums() -> dict[str, Any]:
    """Codes with zh-CN and en labels, for UIs."""
    return {
        name: [{"code": code, "zh-CN": zh, "en": en} for code, (zh, en) in LABELS[enum].items()]
        for name, enum in ENUM_NAMES.items()
    }
