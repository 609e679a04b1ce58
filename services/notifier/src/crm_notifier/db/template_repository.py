"""SQL of the notification templates: one by kind and locale, all of them, removal."""

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db.template_models import NotificationTemplate


async def get_template(
    session: AsyncSession, kind: str, locale: str, *, lock: bool = False
) -> NotificationTemplate | None:
    statement = select(NotificationTemplate).where(
        NotificationTemplate.kind == kind, NotificationTemplate.locale == locale
    )
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_templates(session: AsyncSession) -> Sequence[NotificationTemplate]:
    statement = select(NotificationTemplate).order_by(
        NotificationTemplate.kind, NotificationTemplate.locale
    )
    return (await session.exec(statement)).all()


async def delete_template(session: AsyncSession, row: NotificationTemplate) -> None:
    await session.delete(row)
    await session.flush()
