"""A person's own notifications (the in-app inbox), their delivery log, their preferences,
and the admin's view of deliveries and free messages. Everyone sees only their own inbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.channels.base import registered
from crm_notifier.db import repository as repo
from crm_notifier.db.models import Delivery, Notification, UserPreference
from crm_notifier.domain.context import RequestContext
from crm_notifier.domain.kinds import LOCALES, Category, Kind
from crm_notifier.domain.notify import deliver_plans
from crm_notifier.domain.rules import ADMIN, Plan, Recipient
from crm_platform.errors import Forbidden, InvalidField, NotFound, StaleVersion


@dataclass(frozen=True)
class NotificationDetail:
    notification: Notification
    deliveries: list[Delivery]


def _ensure_person(ctx: RequestContext) -> None:
    if not ctx.identity.roles:
        raise Forbidden("Sign in to read your notifications.")


def _ensure_admin(ctx: RequestContext, doing: str) -> None:
    if ADMIN not in ctx.identity.roles and "system" not in ctx.identity.roles:
        raise Forbidden(f"Only an admin may {doing}.")


async def list_inbox(
    session: AsyncSession, ctx: RequestContext, *, unread_only: bool, page: int, page_size: int
) -> tuple[list[Notification], int, int]:
    _ensure_person(ctx)
    found, total = await repo.inbox(
        session, ctx.actor, unread_only=unread_only, offset=(page - 1) * page_size, limit=page_size
    )
    return found, total, await repo.unread_count(session, ctx.actor)


async def unread(session: AsyncSession, ctx: RequestContext) -> int:
    _ensure_person(ctx)
    return await repo.unread_count(session, ctx.actor)


async def get_notification(
    session: AsyncSession, ctx: RequestContext, notification_id: uuid.UUID
) -> NotificationDetail:
    """Your own notification with its delivery log; an admin may read anyone's."""
    _ensure_person(ctx)
    found = await repo.get_notification(session, notification_id)
    own = found is not None and found.recipient_kind == "user" and found.recipient_id == ctx.actor
    if found is None or not (own or ADMIN in ctx.identity.roles):
        raise NotFound(f"No notification {notification_id}.")
    return NotificationDetail(found, await repo.deliveries_of(session, found.id))


async def mark_read(session: AsyncSession, ctx: RequestContext, ids: list[uuid.UUID] | None) -> int:
    """Mark your notifications read (these, or all when ``ids`` is None)."""
    _ensure_person(ctx)
    return await repo.mark_read(session, ctx.actor, ctx.clock.now(), ids)


async def get_preferences(session: AsyncSession, ctx: RequestContext) -> UserPreference:
    _ensure_person(ctx)
    found = await repo.get_preference(session, ctx.actor)
    if found is not None:
        return found
    return UserPreference(
        user_id=ctx.actor,
        channels=list(ctx.settings.default_channels),
        timezone=ctx.settings.timezone,
        locale=ctx.settings.default_locale,
        updated_at=ctx.clock.now(),
        version=0,
    )


@dataclass(frozen=True, kw_only=True)
class SavePreferences:
    channels: tuple[str, ...]
    quiet_start: time | None
    quiet_end: time | None
    timezone: str
    locale: str
    expected_version: int  # 0: none saved yet


async def save_preferences(
    session: AsyncSession, ctx: RequestContext, command: SavePreferences
) -> UserPreference:
    _ensure_person(ctx)
    unknown = sorted(set(command.channels) - set(registered()))
    if unknown:
        raise InvalidField("channels", f"has unknown channels: {', '.join(unknown)}")
    if "inbox" not in command.channels:
        raise InvalidField("channels", "must include the inbox (it is where everything is kept)")
    if (command.quiet_start is None) != (command.quiet_end is None):
        raise InvalidField("quiet_end", "and quiet_start are set together or not at all")
    try:
        ZoneInfo(command.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidField("timezone", "is not a known time zone") from exc
    if command.locale not in LOCALES:
        raise InvalidField("locale", f"must be one of {', '.join(LOCALES)}")
    found = await repo.get_preference(session, ctx.actor)
    current = found.version if found else 0
    if current != command.expected_version:
        raise StaleVersion(
            f"Your preferences changed since you read them (version {current}); reload them.",
            current_version=current,
        )
    row = found or UserPreference(user_id=ctx.actor, updated_at=ctx.clock.now(), version=0)
    row.channels = list(dict.fromkeys(command.channels))
    row.quiet_start, row.quiet_end = command.quiet_start, command.quiet_end
    row.timezone, row.locale = command.timezone, command.locale
    row.updated_at = ctx.clock.now()
    row.version = current + 1
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True, kw_only=True)
class SendMessage:
    """An admin's message to people or contacts: an announcement (transactional) or a
    campaign (marketing: never to a contact who opted out)."""

    subject: str
    text: str
    category: Category
    user_ids: tuple[str, ...] = ()
    contact_ids: tuple[uuid.UUID, ...] = ()


async def send_message(session: AsyncSession, ctx: RequestContext, command: SendMessage) -> int:
    _ensure_admin(ctx, "send messages")
    recipients = tuple(Recipient("user", u) for u in dict.fromkeys(command.user_ids)) + tuple(
        Recipient("contact", str(c)) for c in dict.fromkeys(command.contact_ids)
    )
    if not recipients:
        raise InvalidField("user_ids", "or contact_ids must name someone")
    plan = Plan(
        Kind.MESSAGE,
        recipients,
        {"subject": command.subject, "text": command.text},
        category=command.category,
    )
    return await deliver_plans(session, ctx, [plan], None)


async def list_deliveries(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    status: str | None,
    channel: str | None,
    page: int,
    page_size: int,
) -> tuple[list[tuple[Delivery, Notification]], int]:
    _ensure_admin(ctx, "see every delivery")
    return await repo.list_deliveries(
        session, status=status, channel=channel, offset=(page - 1) * page_size, limit=page_size
    )
