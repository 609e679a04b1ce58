"""The delivery dispatcher, run by every notifier process (replicas included).

A round claims due pending deliveries in one short transaction (``FOR UPDATE SKIP LOCKED``;
their next attempt moves to the lease's end, so no other dispatcher takes them while they are
being sent, and a crash leaves them to be taken again when the lease runs out), sends them side
by side outside any transaction, then records each outcome in another short transaction:
delivered; pending again after a backoff with jitter (``domain.retries``); or failed with the
reason once the attempts are spent or the channel says it can never work. Delivered and
failed external deliveries publish ``notification.delivered``/``notification.failed`` from
the outcome's transaction (the inbox, delivered when the notification is written, does not).

What a receiver sees is at least once: a dispatcher that dies after the receiver accepted and
before recording it sends again when the lease ends (partner webhooks carry a stable
``webhook-id`` to drop such a repeat; an email may be sent twice in that narrow case).

Time comes from the ``Clock`` given; tests move a fake clock and call ``dispatch_once``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client import Counter, Histogram
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.channels import base as channels
from crm_notifier.channels.base import Delivered, Failed, OutboundMessage, Retry, SendResult
from crm_notifier.db import repository as repo
from crm_notifier.domain.retries import next_attempt
from crm_notifier.events import published as ev
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.events.outbox import add_event
from crm_platform.metrics import REGISTRY

log = logging.getLogger(__name__)

NOTIFICATIONS = Counter(
    "crm_notifications_total",
    "Delivery attempts by channel and outcome (delivered, retry, failed)",
    ["channel", "outcome"],
    registry=REGISTRY,
)
SEND_SECONDS = Histogram(
    "crm_notification_send_seconds", "Time one channel took to send", ["channel"], registry=REGISTRY
)


class DeliveryDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self._http = http
        self._own_http = http is None
        self._channels: dict[str, channels.Channel] | None = None
        self._stop = asyncio.Event()

    def _channel_map(self) -> dict[str, channels.Channel]:
        if self._channels is None:
            if self._http is None:
                self._http = httpx.AsyncClient(timeout=self.settings.http_timeout_seconds)
            env = channels.ChannelEnv(settings=self.settings, http=self._http)
            self._channels = channels.build_channels(env)
        return self._channels

    async def dispatch_once(self) -> int:
        """Claim, send and record batches until one comes back short; answers how many
        deliveries were attempted."""
        attempted = 0
        batch = self.settings.dispatch_batch_size
        while True:
            async with self.sessionmaker() as session, session.begin():
                now = self.clock.now()
                lease = now + timedelta(seconds=self.settings.dispatch_lease_seconds)
                claimed = await repo.claim_due(session, now, lease, batch)
            if claimed:
                outcomes = await self._send_all(claimed)
                await self._record(claimed, outcomes)
            attempted += len(claimed)
            if len(claimed) < batch:
                return attempted

    async def _send_all(self, claimed: Sequence[Any]) -> list[SendResult]:
        limit = asyncio.Semaphore(self.settings.dispatch_concurrency)

        async def send(row: Any) -> SendResult:
            async with limit:
                return await self._send(row)

        return await asyncio.gather(*(send(row) for row in claimed))

    async def _send(self, row: Any) -> SendResult:
        channel = self._channel_map().get(row.channel)
        if channel is None:
            return Failed(f"the {row.channel} channel is not configured")
        message = OutboundMessage(
            channel=row.channel,
            address=row.address or "",
            subject=row.subject,
            body=row.body,
            locale=row.locale,
            urgent=row.urgent,
            facts={
                "notification_id": str(row.notification_id),
                "kind": row.kind,
                "event_id": str(row.event_id) if row.event_id else None,
                "event_type": row.event_type,
                "link": row.link,
            },
        )
        started = time.perf_counter()
        try:
            result = await channel.send(message)
        except Exception as exc:  # a channel's bug must not stop the others
            log.exception("channel %s raised", row.channel)
            result = Retry(f"{type(exc).__name__}: {exc}")
        SEND_SECONDS.labels(channel=row.channel).observe(time.perf_counter() - started)
        return result

    async def _record(self, claimed: Sequence[Any], outcomes: Sequence[SendResult]) -> None:
        async with self.sessionmaker() as session, session.begin():
            now = self.clock.now()
            for row, outcome in zip(claimed, outcomes, strict=True):
                self._record_one(session, row, outcome, now)
                await self._apply(session, row, outcome, now)

    def _record_one(
        self, session: AsyncSession, row: Any, outcome: SendResult, now: datetime
    ) -> None:
        label = {Delivered: "delivered", Retry: "retry", Failed: "failed"}[type(outcome)]
        NOTIFICATIONS.labels(channel=row.channel, outcome=label).inc()

    async def _apply(
        self, session: AsyncSession, row: Any, outcome: SendResult, now: datetime
    ) -> None:
        entry: dict[str, Any] = {"at": now.isoformat(), "attempt": row.attempts}
        if isinstance(outcome, Delivered):
            entry |= {"outcome": "delivered", "detail": outcome.detail}
            await repo.record_outcome(
                session,
                row.id,
                status="delivered",
                next_attempt_at=None,
                error=None,
                delivered_at=now,
                entry=entry,
            )
            self._publish(session, ev.NOTIFICATION_DELIVERED, row, now, None)
            return
        reason = outcome.reason
        retry_at = None
        if isinstance(outcome, Retry):
            retry_at = next_attempt(
                now,
                row.attempts,
                max_attempts=self.settings.delivery_max_attempts,
                base=self.settings.delivery_backoff_seconds,
            )
        if retry_at is not None:
            entry |= {"outcome": "retry", "detail": reason, "next_attempt_at": retry_at.isoformat()}
            await repo.record_outcome(
                session,
                row.id,
                status="pending",
                next_attempt_at=retry_at,
                error=reason,
                delivered_at=None,
                entry=entry,
            )
            return
        entry |= {"outcome": "failed", "detail": reason}
        await repo.record_outcome(
            session,
            row.id,
            status="failed",
            next_attempt_at=None,
            error=reason,
            delivered_at=None,
            entry=entry,
        )
        self._publish(session, ev.NOTIFICATION_FAILED, row, now, reason)

    def _publish(
        self, session: AsyncSession, routing_key: str, row: Any, now: datetime, reason: str | None
    ) -> None:
        payload = ev.DeliveryOutcome(
            delivery_id=str(row.id),
            notification_id=str(row.notification_id),
            kind=row.kind,
            channel=row.channel,
            recipient_kind=row.recipient_kind,
            recipient_id=row.recipient_id,
            event_id=str(row.event_id) if row.event_id else None,
            event_type=row.event_type,
            attempts=row.attempts,
            reason=reason,
            at=now,
        )
        add_event(
            session,
            ev.build_event(routing_key, payload, subject=str(row.notification_id), actor="system"),
        )

    async def run(self) -> None:
        """Until ``stop()``: a round, then a pause of the poll interval when it was idle."""
        try:
            while not self._stop.is_set():
                attempted = 0
                try:
                    attempted = await self.dispatch_once()
                except Exception:  # the database away, say: try again next round
                    log.exception("delivery round failed")
                if attempted == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._stop.wait(), self.settings.dispatch_poll_seconds
                        )
        finally:
            if self._own_http and self._http is not None:
                await self._http.aclose()

    def stop(self) -> None:
        self._stop.set()
