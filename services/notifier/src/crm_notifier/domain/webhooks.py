"""Partner webhooks: subscriptions and their deliveries (SPEC §4).

A subscription is an HTTPS URL, the event types it wants (topic patterns on routing keys, as
on the bus: ``ticket.*`` one word, ``customer.#`` zero or more, or an exact key) and a secret
the notifier signs every delivery with (Standard Webhooks), generated here and shown once, on
create and on rotation; it is kept encrypted with the data key.

Who manages what: the gateway lets every role but sales reps reach ``/api/v1/webhooks`` (a
partner's API key acts as its owner, with the owner's roles, and needs ``webhooks:manage``).
Here an admin (or the system) sees and manages every subscription; anyone else only those
they created (``created_by`` is their subject): another's is answered 404.

``fan_out`` turns each event the notifier receives into one pending delivery per matching
active subscription; ``webhook_dispatcher`` sends them.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db import webhook_repository as repo
from crm_notifier.db.webhook_models import WebhookDelivery, WebhookSubscription
from crm_notifier.db.webhook_repository import DeliveryFilter
from crm_notifier.domain.context import RequestContext
from crm_notifier.domain.webhook_addresses import check_url
from crm_notifier.domain.webhook_commands import (
    CreateSubscription,
    ReplayDelivery,
    UpdateSubscription,
)
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.crypto import FieldCipher
from crm_platform.errors import Conflict, InvalidField, NotFound, StaleVersion
from crm_platform.events import CloudEvent
from crm_platform.identity import SYSTEM_ROLE

ADMIN_ROLE = "admin"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_PATTERNS = 20
MAX_LOG_ENTRIES = 50
EDITABLE = frozenset({"partner", "url", "event_types", "active"})

_WORD = r"[A-Za-z0-9_-]+"
PATTERN_REGEX = rf"^(?:{_WORD}|\*|#)(?:\.(?:{_WORD}|\*|#))*$"
_PATTERN = re.compile(PATTERN_REGEX)


# -- topic patterns (pure) ------------------------------------------------------------------


def valid_pattern(pattern: str) -> bool:
    """Dot-separated words, each a name, ``*`` or ``#``."""
    return bool(_PATTERN.fullmatch(pattern))


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Topic-exchange matching: ``*`` is exactly one word, ``#`` zero or more words, any
    other word itself. ``ticket.*`` matches ``ticket.created``, not ``ticket.sla.breached``;
    ``customer.#`` matches ``customer``, ``customer.created`` and ``customer.a.b``."""
    words = pattern.split(".")
    key = routing_key.split(".")
    # reachable[j]: the first i pattern words can match the first j key words.
    reachable = [True] + [False] * len(key)
    for word in words:
        if word == "#":
            after = [False] * (len(key) + 1)
            seen = False
            for j in range(len(key) + 1):
                seen = seen or reachable[j]
                after[j] = seen
        else:
            after = [False] * (len(key) + 1)
            for j in range(1, len(key) + 1):
                after[j] = reachable[j - 1] and (word == "*" or word == key[j - 1])
        reachable = after
    return reachable[len(key)]


def matches_any(patterns: Iterable[str], routing_key: str) -> bool:
    return any(topic_matches(pattern, routing_key) for pattern in patterns)


def _checked_patterns(patterns: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for pattern in patterns:
        if not valid_pattern(pattern):
            raise InvalidField(
                "event_types",
                f"holds {pattern!r}: use dot-separated words, '*' (one word) or '#' (any)",
            )
        if pattern not in kept:
            kept.append(pattern)
    if not kept or len(kept) > MAX_PATTERNS:
        raise InvalidField("event_types", f"must hold 1 to {MAX_PATTERNS} patterns")
    return kept


# -- secrets --------------------------------------------------------------------------------


def new_secret() -> str:
    """``whsec_`` and base64 of 32 random bytes, the form Standard Webhooks libraries take."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_context(subscription_id: uuid.UUID) -> str:
    return f"webhook_subscription.secret:{subscription_id}"


def seal_secret(settings: Settings, subscription_id: uuid.UUID, secret: str) -> str:
    return FieldCipher(settings.data_key).encrypt(secret, context=_secret_context(subscription_id))


def open_secret(settings: Settings, subscription_id: uuid.UUID, ciphertext: str) -> str:
    return FieldCipher(settings.data_key).decrypt(
        ciphertext, context=_secret_context(subscription_id)
    )


@dataclass(frozen=True)
class SubscriptionWithSecret:
    """A subscription just created or re-keyed, with its secret in clear: answered once."""

    subscription: WebhookSubscription
    secret: str


# -- access ---------------------------------------------------------------------------------


def _owner_scope(ctx: RequestContext) -> str | None:
    """Whose subscriptions the caller may see: None for everybody's."""
    if ctx.identity.has_any_role(ADMIN_ROLE, SYSTEM_ROLE):
        return None
    return ctx.actor


async def _load(
    session: AsyncSession,
    ctx: RequestContext,
    subscription_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookSubscription:
    found = await repo.get_subscription(session, subscription_id, for_update=for_update)
    scope = _owner_scope(ctx)
    if found is None or (scope is not None and found.created_by != scope):
        raise NotFound(f"No webhook subscription {subscription_id}.")
    return found


async def _flush_versioned(session: AsyncSession, expected: int) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            f"The subscription was changed by someone else while you saved version {expected}; "
            "reload it and apply your change again."
        ) from exc


# -- subscriptions --------------------------------------------------------------------------


async def create_subscription(
    session: AsyncSession, ctx: RequestContext, command: CreateSubscription
) -> SubscriptionWithSecret:
    patterns = _checked_patterns(command.event_types)
    url = await check_url(command.url, ctx.settings)
    now = ctx.clock.now()
    secret = new_secret()
    subscription_id = uuid.uuid4()
    subscription = WebhookSubscription(
        id=subscription_id,
        partner=command.partner,
        url=url,
        event_types=patterns,
        secret_ciphertext=seal_secret(ctx.settings, subscription_id, secret),
        created_by=ctx.actor,
        created_at=now,
        updated_by=ctx.actor,
        updated_at=now,
    )
    _forget_patterns(session)
    session.add(subscription)
    await session.flush()
    return SubscriptionWithSecret(subscription, secret)


async def list_subscriptions(
    session: AsyncSession, ctx: RequestContext, *, page: int, page_size: int
) -> tuple[list[WebhookSubscription], int]:
    return await repo.page_subscriptions(
        session, created_by=_owner_scope(ctx), offset=(page - 1) * page_size, limit=page_size
    )


async def get_subscription(
    session: AsyncSession, ctx: RequestContext, subscription_id: uuid.UUID
) -> WebhookSubscription:
    return await _load(session, ctx, subscription_id)


async def update_subscription(
    session: AsyncSession, ctx: RequestContext, command: UpdateSubscription
) -> WebhookSubscription:
    """Partner name, URL (checked again), patterns, and ``active``: false disables it by
    hand; true re-enables one (disabled by hand or after failures) with its failure count
    cleared, and its deliveries still pending go out again."""
    changes = dict(command.changes)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidField(sorted(unknown)[0], "cannot be changed here")
    subscription = await _load(session, ctx, command.subscription_id, for_update=True)
    if subscription.version != command.expected_version:
        raise StaleVersion(
            f"The subscription changed since you read it (you sent version "
            f"{command.expected_version}, it is now {subscription.version}); reload it and "
            "apply your change again.",
            current_version=subscription.version,
        )
    now = ctx.clock.now()
    if "url" in changes and changes["url"] != subscription.url:
        subscription.url = await check_url(changes["url"], ctx.settings)
    if "event_types" in changes:
        subscription.event_types = _checked_patterns(changes["event_types"])
    if "partner" in changes:
        subscription.partner = changes["partner"]
    if "active" in changes and changes["active"] != subscription.active:
        subscription.active = changes["active"]
        if subscription.active:
            subscription.disabled_at = None
            subscription.disabled_reason = None
            subscription.consecutive_failures = 0
            subscription.first_failure_at = None
        else:
            subscription.disabled_at = now
            subscription.disabled_reason = f"disabled by {ctx.actor}"
    subscription.updated_by = ctx.actor
    subscription.updated_at = now
    _forget_patterns(session)
    session.add(subscription)
    await _flush_versioned(session, command.expected_version)
    return subscription


async def rotate_secret(
    session: AsyncSession, ctx: RequestContext, subscription_id: uuid.UUID
) -> SubscriptionWithSecret:
    """A new secret, in force at once (a delivery already being sent keeps the old one)."""
    subscription = await _load(session, ctx, subscription_id, for_update=True)
    secret = new_secret()
    subscription.secret_ciphertext = seal_secret(ctx.settings, subscription.id, secret)
    subscription.updated_by = ctx.actor
    subscription.updated_at = ctx.clock.now()
    session.add(subscription)
    await _flush_versioned(session, subscription.version)
    return SubscriptionWithSecret(subscription, secret)


async def delete_subscription(
    session: AsyncSession, ctx: RequestContext, subscription_id: uuid.UUID
) -> None:
    """The subscription and its deliveries."""
    subscription = await _load(session, ctx, subscription_id, for_update=True)
    _forget_patterns(session)
    await repo.delete_subscription(session, subscription.id)


# -- deliveries -----------------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    ctx: RequestContext,
    subscription_id: uuid.UUID,
    flt: DeliveryFilter,
    *,
    page: int,
    page_size: int,
) -> tuple[list[WebhookDelivery], int]:
    await _load(session, ctx, subscription_id)
    return await repo.page_deliveries(
        session, subscription_id, flt, offset=(page - 1) * page_size, limit=page_size
    )


async def replay_delivery(
    session: AsyncSession, ctx: RequestContext, command: ReplayDelivery
) -> WebhookDelivery:
    """Send a delivered or failed delivery again: pending now, with a fresh run of attempts
    (its log keeps the earlier ones) and the same ``webhook-id``."""
    subscription = await _load(session, ctx, command.subscription_id)
    delivery = await repo.get_delivery(
        session, subscription.id, command.delivery_id, for_update=True
    )
    if delivery is None:
        raise NotFound(f"No delivery {command.delivery_id} of this subscription.")
    if delivery.status == repo.PENDING:
        raise Conflict(
            "The delivery is still pending; it will be attempted again by itself.",
            slug="delivery-pending",
        )
    if not subscription.active:
        raise Conflict(
            "The subscription is disabled; enable it (PATCH active=true) before replaying.",
            slug="subscription-disabled",
        )
    now = ctx.clock.now()
    delivery.status = repo.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.claimed_until = None
    delivery.last_error = None
    delivery.response_status = None
    delivery.delivered_at = None
    delivery.log = appended(delivery.log, {"at": now.isoformat(), "replay_by": ctx.actor})
    session.add(delivery)
    await session.flush()
    return delivery


async def fan_out(session: AsyncSession, event: CloudEvent, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """One pending delivery of ``event`` for each active subscription one of whose patterns
    matches its routing key; an event received again adds none (unique per subscription and
    event). Answers how many deliveries are new. Called for every event the notifier
    receives, in the consumer's transaction."""
    routing_key = event.routing_key
    targets = [
        subscription_id
        for subscription_id, patterns in await _active_patterns(session)
        if matches_any(patterns, routing_key)
    ]
    if not targets:
        return 0
    now = clock.now()
    payload: dict[str, Any] = event.model_dump(mode="json")
    return await repo.insert_deliveries(
        session,
        [
            {
                "id": uuid.uuid4(),
                "subscription_id": subscription_id,
                "event_id": event.id,
                "event_type": routing_key,
                "payload": payload,
                "status": repo.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "log": [],
            }
            for subscription_id in targets
        ],
    )


_PATTERNS_KEY = "crm_notifier.webhooks.active_patterns"


async def _active_patterns(session: AsyncSession) -> list[tuple[uuid.UUID, list[str]]]:
    """The active subscriptions' patterns, read once per session: the consumer applies a
    batch of events in one session and transaction, and the events of a batch, committed
    together, see the subscriptions as of its first one (a subscription written meanwhile
    is as concurrent with all of them). Writes through a session forget what it read."""
    found = session.info.get(_PATTERNS_KEY)
    if found is None:
        found = session.info[_PATTERNS_KEY] = await repo.active_patterns(session)
    return found


def _forget_patterns(session: AsyncSession) -> None:
    session.info.pop(_PATTERNS_KEY, None)


def appended(log: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    """``log`` with ``entry`` at its end, keeping the last ``MAX_LOG_ENTRIES``."""
    return [*log, entry][-MAX_LOG_ENTRIES:]
