"""SQL of the notifier's core: the replicas, the recipients, notifications and deliveries,
the dispatcher's claims and the inbox. The domain decides; this module reads and writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db.models import (
    ContactReplica,
    CustomerReplica,
    Delivery,
    Notification,
    UserPreference,
    UserReplica,
)
from crm_platform.db import dialect_of

# Built once per dialect on the tables (not the ORM classes), the rows given as parameters:
# these run for every event the consumer turns into notifications, and a statement made
# with ``.values(rows)`` on an ORM class went through the ORM's bulk path and was compiled
# anew each time (the notifier benchmark: a third of the consumer's CPU per event).
_NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]
_INSERT_NEW_NOTIFICATION = {
    name: insert(_NOTIFICATIONS)
    .on_conflict_do_nothing(index_elements=["event_id", "kind", "recipient_kind", "recipient_id"])
    .returning(_NOTIFICATIONS.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_INSERT_NOTIFICATION = _NOTIFICATIONS.insert().returning(_NOTIFICATIONS.c.id)
_INSERT_DELIVERY = _DELIVERIES.insert()


# --------------------------------------------------------------------------- recipients


async def get_user(session: AsyncSession, user_id: str) -> UserReplica | None:
    return await session.get(UserReplica, user_id)


async def users_with_role(session: AsyncSession, role: str) -> list[UserReplica]:
    """Active users holding ``role`` (few: managers, supervisors, admins)."""
    rows = await session.exec(select(UserReplica).where(UserReplica.active.is_(True)))  # type: ignore[attr-defined]
    return [user for user in rows.all() if role in user.roles]


async def get_contact(session: AsyncSession, contact_id: uuid.UUID) -> ContactReplica | None:
    return await session.get(ContactReplica, contact_id)


async def primary_contact(session: AsyncSession, customer_id: uuid.UUID) -> ContactReplica | None:
    statement = (
        select(ContactReplica)
        .where(ContactReplica.customer_id == customer_id, ContactReplica.archived.is_(False))  # type: ignore[attr-defined]
        .order_by(ContactReplica.is_primary.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def get_customer(session: AsyncSession, customer_id: uuid.UUID) -> CustomerReplica | None:
    return await session.get(CustomerReplica, customer_id)


async def preferences_of(
    session: AsyncSession, user_ids: Sequence[str]
) -> dict[str, UserPreference]:
    if not user_ids:
        return {}
    rows = await session.exec(
        select(UserPreference).where(UserPreference.user_id.in_(list(user_ids)))  # type: ignore[attr-defined]
    )
    return {row.user_id: row for row in rows.all()}


async def get_preference(session: AsyncSession, user_id: str) -> UserPreference | None:
    return await session.get(UserPreference, user_id)


# --------------------------------------------------------------------------- notifications


async def insert_notification(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Inserts the notification unless one of its kind exists for the event and recipient
    (a redelivered event); True when it is new."""
    statement = _INSERT_NEW_NOTIFICATION[dialect_of(session)]
    if values.get("event_id") is None:  # an admin's message: no event to repeat
        statement = _INSERT_NOTIFICATION
    return (await session.execute(statement, values)).first() is not None


async def insert_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(_INSERT_DELIVERY, rows)


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[Any]:
    """Claims up to ``limit`` pending deliveries due by ``now``: their next attempt moves to
    the lease's end (so nobody else takes them while they are being sent; a crash leaves
    them to be taken again then) and their attempts count one more. Returns each with its
    notification's message."""
    due = (
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = (
        update(Delivery)
        .where(Delivery.id.in_(due))  # type: ignore[attr-defined]
        .values(
            next_attempt_at=lease_until, claimed_until=lease_until, attempts=Delivery.attempts + 1
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    ids = list((await session.execute(claimed)).scalars().all())
    if not ids:
        return []
    statement = (
        select(
            Delivery.id,
            Delivery.channel,
            Delivery.address,
            Delivery.attempts,
            Delivery.notification_id,
            Notification.kind,
            Notification.subject,
            Notification.body,
            Notification.locale,
            Notification.urgent,
            Notification.link,
            Notification.recipient_kind,
            Notification.recipient_id,
            Notification.event_id,
            Notification.event_type,
        )
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.id.in_(ids))  # type: ignore[attr-defined]
    )
    return list((await session.execute(statement)).all())


async def record_outcome(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    status: str,
    next_attempt_at: datetime | None,
    error: str | None,
    delivered_at: datetime | None,
    entry: dict[str, Any],
) -> None:
    delivery = await session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None:
        return
    delivery.status = status
    delivery.claimed_until = None
    if next_attempt_at is not None:
        delivery.next_attempt_at = next_attempt_at
    delivery.last_error = error
    delivery.delivered_at = delivered_at
    delivery.log = [*delivery.log, entry]
    session.add(delivery)


# --------------------------------------------------------------------------- inbox


async def inbox(
    session: AsyncSession, user_id: str, *, unread_only: bool, offset: int, limit: int
) -> tuple[list[Notification], int]:
    conditions: list[Any] = [
        Notification.recipient_kind == "user",
        Notification.recipient_id == user_id,
    ]
    if unread_only:
        conditions.append(Notification.read_at.is_(None))  # type: ignore[union-attr]
    total = (
        await session.execute(select(func.count()).select_from(Notification).where(*conditions))
    ).scalar_one()
    rows = await session.exec(
        select(Notification)
        .where(*conditions)
        .order_by(Notification.created_at.desc(), Notification.id)  # type: ignore[attr-defined]
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all()), int(total)


async def unread_count(session: AsyncSession, user_id: str) -> int:
    statement = (
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.recipient_kind == "user",
            Notification.recipient_id == user_id,
            Notification.read_at.is_(None),  # type: ignore[union-attr]
        )
    )
    return int((await session.execute(statement)).scalar_one())


async def get_notification(
    session: AsyncSession, notification_id: uuid.UUID
) -> Notification | None:
    return await session.get(Notification, notification_id)


async def deliveries_of(session: AsyncSession, notification_id: uuid.UUID) -> list[Delivery]:
    rows = await session.exec(
        select(Delivery)
        .where(Delivery.notification_id == notification_id)
        .order_by(Delivery.channel)
    )
    return list(rows.all())


async def mark_read(
    session: AsyncSession, user_id: str, at: datetime, ids: Sequence[uuid.UUID] | None
) -> int:
    statement = update(Notification).where(
        Notification.recipient_kind == "user",
        Notification.recipient_id == user_id,
        Notification.read_at.is_(None),  # type: ignore[union-attr]
    )
    if ids is not None:
        statement = statement.where(Notification.id.in_(list(ids)))  # type: ignore[attr-defined]
    result = await session.execute(
        statement.values(read_at=at).execution_options(synchronize_session=False)
    )
    return result.rowcount


async def list_deliveries(
    session: AsyncSession, *, status: str | None, channel: str | None, offset: int, limit: int
) -> tuple[list[tuple[Delivery, Notification]], int]:
    conditions: list[Any] = []
    if status is not None:
        conditions.append(Delivery.status == status)
    if channel is not None:
        conditions.append(Delivery.channel == channel)
    total = (
        await session.execute(select(func.count()).select_from(Delivery).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(*conditions)
        .order_by(Delivery.created_at.desc())  # type: ignore[attr-defined]
        .offset(offset)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows.all()], int(total)
