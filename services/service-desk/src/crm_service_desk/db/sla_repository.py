"""SQL of the SLA configuration: calendars by key, the targets table as a whole."""

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_service_desk.db.sla_models import BusinessCalendarRow, SlaTargetRow

DEFAULT_CALENDAR_KEY = "default"


async def list_calendars(session: AsyncSession) -> Sequence[BusinessCalendarRow]:
    statement = select(BusinessCalendarRow).order_by(BusinessCalendarRow.key)
    return (await session.exec(statement)).all()


async def get_calendar(
    session: AsyncSession, key: str, *, lock: bool = False
) -> BusinessCalendarRow | None:
    statement = select(BusinessCalendarRow).where(BusinessCalendarRow.key == key)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_targets(
    session: AsyncSession, *, for_update: bool = False
) -> Sequence[SlaTargetRow]:
    """Every rule; ``for_update`` locks them, so two replacements of the table take turns."""
    statement = select(SlaTargetRow).order_by(SlaTargetRow.scope)
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).all()


async def replace_targets(session: AsyncSession, rows: Sequence[SlaTargetRow]) -> None:
    """Delete every rule and insert ``rows``, in the caller's transaction (flushed, so a
    unique violation surfaces here)."""
    await session.execute(delete(SlaTargetRow))
    session.add_all(rows)
    await session.flush()
