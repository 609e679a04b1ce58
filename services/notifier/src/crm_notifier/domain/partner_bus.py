"""Partners on the bus (SPEC §4): an admin provisions a partner's own durable quorum queue,
bound to the events exchange by event-type patterns, and a broker user that may only consume
from it; revoking deletes the user and, on request, the queue.

The order of the work, and why. A provisioning writes its row first and flushes it, before
touching the broker: the partial unique index (one active subscription per partner) then
decides between two concurrent provisionings of one partner, and the loser waits on the index
and answers 409 without having changed anything on the broker. The broker's definitions come
next, queue, bindings, user, permissions, in that order (the user last, so nobody can read
from a queue not yet bound as asked). If a broker step fails, the steps done are undone
(best effort: the user deleted, the queue deleted if this provisioning created it) and the
request fails with 503, rolling the row back. If the transaction rolls back after the broker
was changed (the commit fails, or anything after the use case), a rollback hook undoes the
broker side the same way, in the background. The broker cannot join the database's
transaction, so a crash between the broker's changes and the commit can still leave a user
without a row; provisioning that partner again then answers 409 ``broker-user-exists`` and an
operator deletes the user (``rabbitmqctl delete_user partner-<slug>``).

A revocation marks its row first too (locking it, so two revocations do not race), then
takes the user's permissions away (no new connection), closes its open connections (a channel
remembers the permission checks it passed, so a connected consumer would otherwise go on
receiving), deletes the user and, with ``delete_queue``, the queue and its messages. Each
broker step accepts that its object is already gone, so a revocation that failed half-way
(503, the row still active) is simply sent again.

The password of the broker user is generated here, set on the broker and returned once in the
provisioning's answer; it is never stored. Broker users are cluster-wide, not per vhost: two
deployments sharing a broker must not provision the same partner slug.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db import partner_repository as repo
from crm_notifier.db.broker_admin import (
    BrokerAdmin,
    Permissions,
    broker_admin,
    generate_password,
)
from crm_notifier.db.partner_models import ACTIVE, REVOKED, PartnerBusSubscription
from crm_notifier.db.rollback_hooks import on_rollback
from crm_notifier.domain.context import RequestContext
from crm_notifier.domain.partner_bus_commands import ProvisionPartnerQueue, RevokePartnerQueue
from crm_notifier.settings import Settings
from crm_platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from crm_platform.integrity import is_unique_violation

log = logging.getLogger(__name__)

ADMIN = "admin"
MAX_PATTERNS = 20
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# A topic pattern: dot-separated words of lower-case letters, digits and underscores, or
# ``*`` (one word) or ``#`` (zero or more words). RabbitMQ reads ``*`` and ``#`` as wildcards
# only as whole words (``ticket*`` would match nothing but itself), so a word is one or the other.
PATTERN = re.compile(r"^[a-z0-9_*#]+(\.[a-z0-9_*#]+)*$")
_WORD = re.compile(r"^(?:[a-z0-9_]+|\*|#)$")

BrokerOpener = Callable[[Settings], AbstractAsyncContextManager[BrokerAdmin]]


def queue_name(partner: str) -> str:
    return f"partner.{partner}"


def username_of(partner: str) -> str:
    return f"partner-{partner}"


def open_broker(settings: Settings) -> AbstractAsyncContextManager[BrokerAdmin]:
    """The management API client of the settings' vhost."""
    return broker_admin(
        settings.rabbitmq_management_url,
        settings.rabbitmq_management_user,
        settings.rabbitmq_management_password,
        settings.rabbitmq_vhost,
        timeout=settings.http_timeout_seconds,
    )


@dataclass(frozen=True)
class ProvisionedPartnerQueue:
    """What a provisioning answers: the subscription, and the password shown this once."""

    subscription: PartnerBusSubscription
    password: str
    amqp_url_hint: str


def ensure_admin(ctx: RequestContext, doing: str) -> None:
    if not ctx.identity.has_any_role(ADMIN):
        raise Forbidden(f"Only an admin may {doing}.")


def check_partner(partner: str) -> str:
    if not SLUG.fullmatch(partner):
        raise InvalidInput(
            "The partner must be a slug: 1 to 40 lower-case letters, digits and hyphens, "
            "not starting or ending with a hyphen.",
            errors=[{"field": "body.partner", "message": "is not a slug", "code": "invalid"}],
        )
    return partner


def check_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """The patterns without repeats, in their order; refuses a bad one, none or too many."""
    unique = tuple(dict.fromkeys(patterns))
    errors = [
        {"field": f"body.patterns.{index}", "message": f"{p!r} is not a topic pattern"}
        for index, p in enumerate(unique)
        if not PATTERN.fullmatch(p) or not all(_WORD.fullmatch(w) for w in p.split("."))
    ]
    if errors:
        raise InvalidInput(
            "Each pattern is event-type words separated by dots, a word being lower-case "
            "letters, digits and underscores, or * (one word), or # (any words): ticket.*, "
            "customer.#, customer.created.",
            errors=[{**e, "code": "invalid"} for e in errors],
        )
    if not 1 <= len(unique) <= MAX_PATTERNS:
        raise InvalidInput(
            f"Give 1 to {MAX_PATTERNS} patterns.",
            errors=[{"field": "body.patterns", "message": "count", "code": "invalid"}],
        )
    return unique


def amqp_url_hint(settings: Settings, username: str) -> str:
    """Where the partner connects, the password left out (it is in the answer, once)."""
    base = urlsplit(settings.partner_amqp_url or settings.amqp_url)
    host = base.hostname or "127.0.0.1"
    port = f":{base.port}" if base.port else ""
    vhost = quote(settings.rabbitmq_vhost, safe="")
    return f"{base.scheme}://{quote(username, safe='')}:<password>@{host}{port}/{vhost}"


async def list_partner_queues(
    session: AsyncSession, ctx: RequestContext, *, status: str | None = None
) -> list[PartnerBusSubscription]:
    ensure_admin(ctx, "see the partners' queues")
    return await repo.list_subscriptions(session, status=status)


async def provision(
    session: AsyncSession,
    ctx: RequestContext,
    command: ProvisionPartnerQueue,
    *,
    broker: BrokerOpener = open_broker,
) -> ProvisionedPartnerQueue:
    """Provision ``command.partner``'s queue and broker user (see the module's docstring)."""
    ensure_admin(ctx, "provision a partner's queue")
    partner = check_partner(command.partner)
    patterns = check_patterns(command.patterns)
    settings = ctx.settings
    if await repo.active_subscription(session, partner) is not None:
        raise _already_provisioned(partner)
    subscription = PartnerBusSubscription(
        partner=partner,
        display_name=command.display_name or partner,
        queue=queue_name(partner),
        username=username_of(partner),
        vhost=settings.rabbitmq_vhost,
        exchange=settings.events_exchange,
        patterns=list(patterns),
        status=ACTIVE,
        created_by=ctx.actor,
        created_at=ctx.clock.now(),
    )
    session.add(subscription)
    try:
        await session.flush()  # a concurrent provisioning of this partner waits here, then fails
    except IntegrityError as exc:
        if is_unique_violation(exc, "partner_bus_subscription", "partner"):
            raise _already_provisioned(partner) from None
        raise
    password = generate_password()
    async with broker(settings) as admin:
        created_queue = await _apply(admin, subscription, password)
    undo = _Undo(subscription.username, subscription.queue if created_queue else None)
    on_rollback(session, lambda: undo.schedule(broker, settings))
    return ProvisionedPartnerQueue(
        subscription, password, amqp_url_hint(settings, subscription.username)
    )


async def _apply(admin: BrokerAdmin, subscription: PartnerBusSubscription, password: str) -> bool:
    """Queue, bindings, user, permissions; on failure undo what was done. True if the queue
    was created (not kept from an earlier subscription)."""
    queue, username = subscription.queue, subscription.username
    if await admin.user_exists(username):
        raise Conflict(
            f"The broker already has a user {username}, which no active subscription of this "
            f"partner accounts for; delete it on the broker (rabbitmqctl delete_user {username}) "
            "and provision again.",
            slug="broker-user-exists",
            username=username,
        )
    created_queue = not await admin.queue_exists(queue)
    created_user = False
    try:
        await admin.declare_quorum_queue(queue)
        await admin.sync_bindings(subscription.exchange, queue, subscription.patterns)
        created_user = True  # from here: a create that timed out may still have happened
        await admin.create_user(username, password)
        await admin.set_permissions(username, Permissions.consume_only(queue))
    except BaseException:
        await _Undo(username if created_user else None, queue if created_queue else None).run(admin)
        raise
    return created_queue


@dataclass(frozen=True)
class _Undo:
    """Undo a provisioning on the broker: delete its user, and its queue if it created it."""

    username: str | None
    queue: str | None

    async def run(self, admin: BrokerAdmin) -> None:
        try:
            if self.username is not None:
                await admin.delete_user(self.username)
            if self.queue is not None:
                await admin.delete_queue(self.queue)
        except Exception:
            log.exception(
                "could not undo a provisioning on the broker (user %s, queue %s); delete them "
                "by hand",
                self.username,
                self.queue,
            )
        else:
            log.warning("undid a provisioning on the broker: user %s, queue %s", *self._names())

    def _names(self) -> tuple[str, str]:
        return (self.username or "-", self.queue or "(kept)")

    def schedule(self, broker: BrokerOpener, settings: Settings) -> None:
        """From the rollback hook: run in the background with a client of its own."""

        async def undo() -> None:
            async with broker(settings) as admin:
                await self.run(admin)

        _spawn(undo())


_BACKGROUND: set[asyncio.Task[None]] = set()


def _spawn(work: Coroutine[None, None, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def revoke(
    session: AsyncSession,
    ctx: RequestContext,
    command: RevokePartnerQueue,
    *,
    broker: BrokerOpener = open_broker,
) -> PartnerBusSubscription:
    """Revoke the partner's active subscription: delete its user (closing its connections)
    and, with ``delete_queue``, its queue. With no active one, ``delete_queue`` deletes the
    queue a revoked subscription kept."""
    ensure_admin(ctx, "revoke a partner's queue")
    partner = check_partner(command.partner)
    subscription = await repo.latest_subscription(session, partner, for_update=True)
    if subscription is None:
        raise NotFound(f"Partner {partner} has no queue on the bus.")
    if subscription.status == REVOKED and (subscription.queue_deleted or not command.delete_queue):
        raise NotFound(f"Partner {partner}'s queue was revoked already.", slug="not-found")
    was_active = subscription.status == ACTIVE
    if was_active:
        subscription.status = REVOKED
        subscription.revoked_by = ctx.actor
        subscription.revoked_at = ctx.clock.now()
    subscription.queue_deleted = command.delete_queue
    session.add(subscription)
    await session.flush()
    async with broker(ctx.settings) as admin:
        if was_active and await admin.user_exists(subscription.username):
            await admin.clear_permissions(subscription.username)  # no new connection from now
            await admin.close_connections(subscription.username, "access to the CRM bus revoked")
            await admin.delete_user(subscription.username)
        if command.delete_queue:
            await admin.delete_queue(subscription.queue)
    return subscription


def _already_provisioned(partner: str) -> Conflict:
    return Conflict(
        f"Partner {partner} has an active queue on the bus; revoke it first to provision it again.",
        slug="partner-queue-exists",
        partner=partner,
    )
