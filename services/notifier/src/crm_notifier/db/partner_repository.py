"""SQL of the partners' bus subscriptions."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db.partner_models import ACTIVE, PartnerBusSubscription


async def active_subscription(
    session: AsyncSession, partner: str, *, for_update: bool = False
) -> PartnerBusSubscription | None:
    statement = select(PartnerBusSubscription).where(
        PartnerBusSubscription.partner == partner, PartnerBusSubscription.status == ACTIVE
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def latest_subscription(
    session: AsyncSession, partner: str, *, for_update: bool = False
) -> PartnerBusSubscription | None:
    """The partner's most recent subscription, active or revoked."""
    statement = (
        select(PartnerBusSubscription)
        .where(PartnerBusSubscription.partner == partner)
        .order_by(col(PartnerBusSubscription.created_at).desc())
        .limit(1)
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def list_subscriptions(
    session: AsyncSession, *, status: str | None = None
) -> list[PartnerBusSubscription]:
    statement = select(PartnerBusSubscription).order_by(
        col(PartnerBusSubscription.partner), col(PartnerBusSubscription.created_at).desc()
    )
    if status is not None:
        statement = statement.where(PartnerBusSubscription.status == status)
    return list((await session.exec(statement)).all())
