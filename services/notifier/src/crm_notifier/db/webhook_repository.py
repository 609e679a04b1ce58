"""SQL of partner webhooks: subscriptions, their deliveries, and the dispatcher's claims and
outcomes. The domain decides; this module only reads and writes rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db.webhook_models import WebhookDelivery, WebhookSubscription

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "postgresql"


# -- subscriptions ------------------------------------------------------------------------


async def get_subscription(
    session: AsyncSession, subscription_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSubscription | None:
    statement = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


async def page_subscriptions(
    session: AsyncSession, *, created_by: str | None, offset: int, limit: int
) -> tuple[list[WebhookSubscription], int]:
    """``created_by`` None: everybody's."""
    conditions = [] if created_by is None else [WebhookSubscription.created_by == created_by]
    total = (
        await session.execute(
            select(func.count()).select_from(WebhookSubscription).where(*conditions)
        )
    ).scalar_one()
    statement = (
        select(WebhookSubscription)
        .where(*conditions)
        .order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id.desc())  # type: ignore[attr-defined]
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars().all()), int(total)


async def active_patterns(session: AsyncSession) -> list[tuple[uuid.UUID, list[str]]]:
    """Every active subscription's id and event type patterns (a small table)."""
    statement = select(WebhookSubscription.id, WebhookSubscription.event_types).where(
        WebhookSubscription.active.is_(True)  # type: ignore[attr-defined]
    )
    return [(row.id, list(row.event_types)) for row in (await session.execute(statement)).all()]


async def delete_subscription(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """With its deliveries (also the foreign key's ``ON DELETE CASCADE``)."""
    await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)  # type: ignore[arg-type]
    )
    await session.execute(
        delete(WebhookSubscription).where(WebhookSubscription.id == subscription_id)  # type: ignore[arg-type]
    )


# -- deliveries -----------------------------------------------------------------------------


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Inserts the rows, skipping each whose (subscription, event) exists already; answers
    how many were new."""
    if not rows:
        return 0
    statement = _INSERT_DELIVERIES[_dialect(session)]
    return len((await session.execute(statement, list(rows))).all())


# Built once per dialect, the rows given as parameters (SQLAlchemy folds them into one
# multi-row INSERT from a cached compilation): this runs for every event the notifier
# receives, where ``.values(rows)`` compiled a new statement each time.
_DELIVERY_TABLE = WebhookDelivery.__table__  # type: ignore[attr-defined]
_SUBSCRIPTION_TABLE = WebhookSubscription.__table__  # type: ignore[attr-defined]
_INSERT_DELIVERIES = {
    name: insert(_DELIVERY_TABLE)
    .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
    .returning(_DELIVERY_TABLE.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


@dataclass(frozen=True)
class DeliveryFilter:
    status: str | None = None
    event_type: str | None = None


async def page_deliveries(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    flt: DeliveryFilter,
    *,
    offset: int,
    limit: int,
) -> tuple[list[WebhookDelivery], int]:
    conditions: list[Any] = [WebhookDelivery.subscription_id == subscription_id]
    if flt.status is not None:
        conditions.append(WebhookDelivery.status == flt.status)
    if flt.event_type is not None:
        conditions.append(WebhookDelivery.event_type == flt.event_type)
    total = (
        await session.execute(select(func.count()).select_from(WebhookDelivery).where(*conditions))
    ).scalar_one()
    statement = (
        select(WebhookDelivery)
        .where(*conditions)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())  # type: ignore[attr-defined]
        .offset(offset)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars().all()), int(total)


async def get_delivery(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookDelivery | None:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalars().first()


# -- the dispatcher ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimedDelivery:
    id: uuid.UUID
    subscription_id: uuid.UUID
    attempt: int  # this attempt's number
    lease_until: datetime  # with ``attempt``, what tells this claim from a later one
    payload: dict[str, Any]
    log: list[dict[str, Any]]
    url: str
    secret_ciphertext: str


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedDelivery]:
    """Claims up to ``limit`` pending deliveries due at ``now`` whose subscription is active
    and that nobody holds (no claim, or one whose lease ran out: a sender that crashed): one
    statement counts the attempt and leases each until ``lease_until``; rows another
    dispatcher holds are skipped (``SKIP LOCKED``), rows it claimed no longer match."""
    due = (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until <= now),  # type: ignore[union-attr,operator]
            WebhookSubscription.active.is_(True),  # type: ignore[attr-defined]
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)  # type: ignore[arg-type]
    )
    claimed = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due))  # type: ignore[attr-defined]
        .values(attempts=WebhookDelivery.attempts + 1, claimed_until=lease_until)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.attempts,
            WebhookDelivery.payload,
            WebhookDelivery.log,
        )
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.execute(claimed)).all())
    if not rows:
        return []
    targets = {
        row.id: row
        for row in (
            await session.execute(
                select(
                    WebhookSubscription.id,
                    WebhookSubscription.url,
                    WebhookSubscription.secret_ciphertext,
                ).where(WebhookSubscription.id.in_({row.subscription_id for row in rows}))  # type: ignore[attr-defined]
            )
        ).all()
    }
    return [
        ClaimedDelivery(
            id=row.id,
            subscription_id=row.subscription_id,
            attempt=row.attempts,
            lease_until=lease_until,
            payload=row.payload,
            log=list(row.log or []),
            url=targets[row.subscription_id].url,
            secret_ciphertext=targets[row.subscription_id].secret_ciphertext,
        )
        for row in rows
        if row.subscription_id in targets
    ]


async def record_outcome(
    session: AsyncSession, claim: ClaimedDelivery, values: dict[str, Any]
) -> bool:
    """Writes one attempt's outcome if the claim is still this attempt's (no other
    dispatcher took the delivery over after the lease ran out); answers whether it did."""
    # On the table, not the ORM class: one per attempt, and the ORM's bulk-update path cost
    # more than the statement.
    table = _DELIVERY_TABLE
    statement = (
        update(table)
        .where(
            table.c.id == claim.id,
            table.c.attempts == claim.attempt,
            table.c.claimed_until == claim.lease_until,
            table.c.status == PENDING,
        )
        .values(claimed_until=None, **values)
        .returning(table.c.id)
    )
    return (await session.execute(statement)).first() is not None


async def reset_failures(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    table = _SUBSCRIPTION_TABLE
    await session.execute(
        update(table)
        .where(table.c.id == subscription_id, table.c.consecutive_failures > 0)
        .values(consecutive_failures=0, first_failure_at=None)
    )


async def count_failure(
    session: AsyncSession, subscription_id: uuid.UUID, now: datetime
) -> tuple[int, datetime]:
    """One more failed attempt in the subscription's run of failures: the run's length and
    when it began."""
    row = (
        await session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == subscription_id)  # type: ignore[arg-type]
            .values(
                consecutive_failures=WebhookSubscription.consecutive_failures + 1,
                first_failure_at=func.coalesce(WebhookSubscription.first_failure_at, now),
            )
            .returning(
                WebhookSubscription.consecutive_failures, WebhookSubscription.first_failure_at
            )
            .execution_options(synchronize_session=False)
        )
    ).one()
    return int(row.consecutive_failures), row.first_failure_at


async def disable_if_sustained(
    session: AsyncSession,
    subscription_id: uuid.UUID,
    *,
    now: datetime,
    min_failures: int,
    failing_since: datetime,
    reason: str,
) -> tuple[str, str] | None:
    """Disables the subscription if it is still active and has failed ``min_failures``
    times in a row since ``failing_since`` or earlier; answers it if this call disabled it
    (so exactly one caller tells the admins): its partner and URL."""
    statement = (
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id == subscription_id,  # type: ignore[arg-type]
            WebhookSubscription.active.is_(True),  # type: ignore[attr-defined]
            WebhookSubscription.consecutive_failures >= min_failures,  # type: ignore[arg-type]
            WebhookSubscription.first_failure_at <= failing_since,  # type: ignore[operator]
        )
        .values(
            active=False,
            disabled_at=now,
            disabled_reason=reason,
            updated_at=now,
            updated_by="system",
            version=WebhookSubscription.version + 1,
        )
        .returning(WebhookSubscription.partner, WebhookSubscription.url)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (row.partner, row.url)
