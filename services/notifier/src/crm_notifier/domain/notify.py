"""Turning a plan into notifications and deliveries, in the caller's transaction (the
consumer's, so an event's notifications commit with its inbox row: a redelivered event
finds them there and adds nothing).

For each recipient: one notification (unique per event, kind and recipient), rendered once
from its template in the recipient's locale; then one delivery per channel (unique per
notification and channel):

- a person receives on their preferred channels (``user_preference.channels``, else
  ``CRM_DEFAULT_CHANNELS``: inbox and email); a non-urgent delivery waits for the end of their
  quiet hours; an urgent one (an SLA breach) goes now;
- a contact receives by email when they have an address, else by SMS; a marketing message
  skips every channel they opted out of ("opted out"), a transactional one (a ticket's
  survey) does not look at it;
- a channel with no address, or not configured in this installation, is recorded as
  ``skipped`` with the reason, so the delivery log shows why nothing went out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.channels.base import configured_channels
from crm_notifier.db import repository as repo
from crm_notifier.db.models import ContactReplica, UserPreference, UserReplica
from crm_notifier.domain import templates
from crm_notifier.domain.context import RequestContext
from crm_notifier.domain.kinds import KINDS, Category
from crm_notifier.domain.quiet_hours import not_before
from crm_notifier.domain.rules import Plan, Recipient
from crm_platform.events import CloudEvent


@dataclass(frozen=True)
class Route:
    """One channel of one recipient: where to, and from when."""

    channel: str
    address: str | None
    not_before: datetime
    skipped: str | None = None  # why nothing will be sent


_CONFIGURED: dict[int, frozenset[str]] = {}


def _available(ctx: RequestContext) -> frozenset[str]:
    """The channels this installation configures (per settings object: tests make several)."""
    key = id(ctx.settings)
    if key not in _CONFIGURED:
        _CONFIGURED[key] = frozenset(configured_channels(ctx.settings))
    return _CONFIGURED[key]


def _user_routes(
    ctx: RequestContext,
    user: UserReplica | None,
    recipient: Recipient,
    preference: UserPreference | None,
    urgent: bool,
    now: datetime,
) -> list[Route]:
    channels = (preference.channels if preference else None) or ctx.settings.default_channels
    when = now
    if preference is not None:
        when = not_before(
            now, preference.quiet_start, preference.quiet_end, preference.timezone, urgent=urgent
        )
    routes = []
    for channel in channels:
        address = _user_address(channel, user, recipient.id)
        routes.append(_route(ctx, channel, address, when))
    return routes


def _user_address(channel: str, user: UserReplica | None, user_id: str) -> str | None:
    if channel == "inbox":
        return user_id
    if user is None:
        return None
    if channel == "email":
        return user.email
    if channel in ("sms", "wecom", "dingtalk"):
        return user.mobile  # the group bots @-mention the person by mobile
    return ""  # apprise: its configured URLs


def _contact_routes(
    ctx: RequestContext, contact: ContactReplica | None, category: Category, now: datetime
) -> list[Route]:
    if contact is None or contact.archived:
        return [Route("email", None, now, "no such contact")]
    marketing = category is Category.MARKETING
    if contact.email:
        if marketing and contact.opt_out_email:
            return [Route("email", contact.email, now, "opted out")]
        return [_route(ctx, "email", contact.email, now)]
    if contact.mobile:
        if marketing and contact.opt_out_sms:
            return [Route("sms", contact.mobile, now, "opted out")]
        return [_route(ctx, "sms", contact.mobile, now)]
    return [Route("email", None, now, "the contact has no email address or mobile")]


def _route(ctx: RequestContext, channel: str, address: str | None, when: datetime) -> Route:
    if channel not in _available(ctx):
        return Route(channel, address, when, f"the {channel} channel is not configured")
    if address is None:
        return Route(channel, None, when, f"no {channel} address")
    return Route(channel, address, when)


async def deliver_plans(
    session: AsyncSession, ctx: RequestContext, plans: list[Plan], event: CloudEvent | None
) -> int:
    """Notifications and deliveries of ``plans``; answers how many notifications are new."""
    now = ctx.clock.now()
    created = 0
    for plan in plans:
        user_ids = [r.id for r in plan.recipients if r.kind == "user"]
        preferences = await repo.preferences_of(session, user_ids)
        for recipient in plan.recipients:
            created += await _notify_one(session, ctx, plan, recipient, preferences, event, now)
    return created


def _console_link(console_url: str, page: str | None) -> str | None:
    return console_url.rstrip("/") + page if console_url and page else None


async def _notify_one(
    session: AsyncSession,
    ctx: RequestContext,
    plan: Plan,
    recipient: Recipient,
    preferences: dict[str, UserPreference],
    event: CloudEvent | None,
    now: datetime,
) -> int:
    urgent = KINDS[plan.kind].urgent
    preference = preferences.get(recipient.id) if recipient.kind == "user" else None
    locale = preference.locale if preference else ctx.settings.default_locale
    if recipient.kind == "user":
        user = await repo.get_user(session, recipient.id)
        if user is not None and not user.active:
            return 0
        name = user.display_name if user else recipient.id
        routes = _user_routes(ctx, user, recipient, preference, urgent, now)
    else:
        contact = await repo.get_contact(session, uuid.UUID(recipient.id))
        name = contact.name if contact else ""
        routes = _contact_routes(ctx, contact, plan.category, now)
    link = plan.link or _console_link(ctx.settings.console_url, plan.page)
    facts = {**plan.facts, "recipient_name": name, "link": link or ""}
    zone = preference.timezone if preference else ctx.settings.timezone
    rendered = await templates.render(session, plan.kind, locale, facts, zone=zone)
    notification_id = uuid.uuid4()
    is_new = await repo.insert_notification(
        session,
        {
            "id": notification_id,
            "event_id": event.id if event else None,
            "event_type": event.routing_key if event else None,
            "kind": plan.kind.value,
            "category": plan.category.value,
            "urgent": urgent,
            "recipient_kind": recipient.kind,
            "recipient_id": recipient.id,
            "locale": locale,
            "subject": rendered.subject[:300],
            "body": rendered.body,
            "link": link,
            "facts": _jsonable(plan.facts),
            "created_at": now,
            "read_at": None,
        },
    )
    if not is_new:
        return 0
    await repo.insert_deliveries(session, [_delivery_row(notification_id, r, now) for r in routes])
    return 1


def _delivery_row(notification_id: uuid.UUID, route: Route, now: datetime) -> dict[str, Any]:
    inbox = route.channel == "inbox" and route.skipped is None
    status = "skipped" if route.skipped else ("delivered" if inbox else "pending")
    entry = {"at": now.isoformat(), "outcome": status, "detail": route.skipped or ""}
    return {
        "id": uuid.uuid4(),
        "notification_id": notification_id,
        "channel": route.channel,
        "address": route.address,
        "status": status,
        "attempts": 1 if inbox else 0,
        "next_attempt_at": route.not_before,
        "claimed_until": None,
        "last_error": route.skipped,
        "delivered_at": now if inbox else None,
        "created_at": now,
        "log": [entry] if status != "pending" else [],
    }


def _jsonable(facts: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else str(v)
        for k, v in facts.items()
    }
