"""Routes of the SLA configuration under /v1/service-desk: business calendars (with their
holidays and a due-moment preview) and SLA targets. Validate, delegate, shape the answer."""

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from crm_platform.http.dependencies import SessionDep
from crm_platform.http.moments import UtcMoment
from crm_platform.http.versions import IfMatch, expected_version
from crm_service_desk.api.dependencies import Context
from crm_service_desk.api.sla_schemas import (
    CalendarCreate,
    CalendarListOut,
    CalendarOut,
    CalendarPatch,
    HolidayIn,
    PreviewOut,
    SlaTargetOut,
    SlaTargetsIn,
    SlaTargetsOut,
)
from crm_service_desk.db.sla_models import BusinessCalendarRow
from crm_service_desk.domain import sla_settings
from crm_service_desk.domain.commands import DayNote, RemoveHoliday, SetHoliday, UpdateCalendar

router = APIRouter(prefix="/v1/service-desk", tags=["service-desk SLA configuration"])

KeyPath = Annotated[str, Path(max_length=32)]
DayPath = Annotated[date, Path(description="ISO date, e.g. 2026-10-01")]


def _answer(row: BusinessCalendarRow, status_code: int = 200) -> Response:
    return Response(
        CalendarOut.of(row).model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"etag": f'"{row.version}"'},
    )


def _version_if_sent(if_match: str | None) -> int | None:
    return expected_version(None, if_match) if if_match else None


@router.get("/calendars", response_model=CalendarListOut)
async def list_calendars(session: SessionDep, ctx: Context) -> CalendarListOut:
    rows = await sla_settings.list_calendars(session, ctx)
    return CalendarListOut(items=[CalendarOut.of(row) for row in rows])


@router.post("/calendars", status_code=status.HTTP_201_CREATED, response_model=CalendarOut)
async def create_calendar(body: CalendarCreate, session: SessionDep, ctx: Context) -> Response:
    """Supervisor or admin. Kinds: always (24x7), weekly (hours per weekday), china (the
    weekly hours on the days China's statutory calendar works)."""
    row = await sla_settings.create_calendar(session, ctx, body.command())
    return _answer(row, status.HTTP_201_CREATED)


@router.get("/calendars/{key}", response_model=CalendarOut)
async def read_calendar(key: KeyPath, session: SessionDep, ctx: Context) -> Response:
    return _answer(await sla_settings.get_calendar(session, ctx, key))


@router.patch("/calendars/{key}", response_model=CalendarOut)
async def change_calendar(
    key: KeyPath, body: CalendarPatch, session: SessionDep, ctx: Context, if_match: IfMatch = None
) -> Response:
    """Supervisor or admin; send the version read (body ``version`` or If-Match)."""
    command = UpdateCalendar(
        key=key, changes=body.changes(), expected_version=expected_version(body.version, if_match)
    )
    return _answer(await sla_settings.update_calendar(session, ctx, command))


@router.put("/calendars/{key}/holidays/{day}", response_model=CalendarOut)
async def set_holiday(
    key: KeyPath,
    day: DayPath,
    session: SessionDep,
    ctx: Context,
    body: HolidayIn | None = None,
    if_match: IfMatch = None,
) -> Response:
    """The day is a holiday (with an optional name); If-Match is checked when sent."""
    command = SetHoliday(
        key=key,
        holiday=DayNote(day=day, name=body.name if body else None),
        expected_version=_version_if_sent(if_match),
    )
    return _answer(await sla_settings.set_holiday(session, ctx, command))


@router.delete("/calendars/{key}/holidays/{day}", response_model=CalendarOut)
async def remove_holiday(
    key: KeyPath, day: DayPath, session: SessionDep, ctx: Context, if_match: IfMatch = None
) -> Response:
    command = RemoveHoliday(key=key, day=day, expected_version=_version_if_sent(if_match))
    return _answer(await sla_settings.remove_holiday(session, ctx, command))


@router.get("/calendars/{key}/preview", response_model=PreviewOut)
async def preview_due(
    key: KeyPath,
    session: SessionDep,
    ctx: Context,
    hours: Annotated[float, Query(gt=0, le=2000, allow_inf_nan=False)],
    start: Annotated[UtcMoment | None, Query(description="Defaults to now")] = None,
) -> PreviewOut:
    """When ``hours`` of business time after ``start`` end on this calendar."""
    row, began, due = await sla_settings.preview_due(session, ctx, key, start, hours)
    local = due.astimezone(sla_settings.calendar_of(row).zone)
    return PreviewOut(
        calendar=row.key, start=began, hours=hours, due_at=due, due_at_local=local.isoformat()
    )


def _targets_answer(rows: Sequence[Any]) -> Response:
    version = sla_settings.targets_version(rows)
    out = SlaTargetsOut(targets=[SlaTargetOut.of(row) for row in rows], version=version)
    return Response(
        out.model_dump_json(), media_type="application/json", headers={"etag": f'"{version}"'}
    )


@router.get("/sla-targets", response_model=SlaTargetsOut)
async def list_targets(session: SessionDep, ctx: Context) -> Response:
    return _targets_answer(await sla_settings.list_targets(session, ctx))


@router.put("/sla-targets", response_model=SlaTargetsOut)
async def replace_targets(
    body: SlaTargetsIn, session: SessionDep, ctx: Context, if_match: IfMatch = None
) -> Response:
    """Supervisor or admin: the whole table at once, with the version you read (body
    ``version`` or If-Match; none: 428, another supervisor's change in between: 409). The most
    specific rule wins per clock (type and priority > type > priority > default); the default
    rule (no priority, no type) must set all three targets."""
    rows = await sla_settings.replace_targets(session, ctx, body.command(if_match))
    return _targets_answer(rows)
