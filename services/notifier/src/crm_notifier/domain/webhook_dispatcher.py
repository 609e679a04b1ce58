"""The partner-webhook dispatcher, run by every notifier process (replicas included).

Each round claims the pending deliveries that are due, a batch per short transaction (one
statement: ``FOR UPDATE SKIP LOCKED``, the attempt counted and the delivery leased until
``dispatch_lease_seconds`` from now), sends them side by side outside any transaction, and
records each outcome in a short transaction of its own:

* a 2xx answer: delivered; the subscription's run of failures ends;
* anything else (another status, a timeout, a refused or failed connection, an address the
  SSRF rule refuses at send time): pending again at ``retries.next_attempt`` (exponential
  backoff with jitter), or failed with the reason once ``delivery_max_attempts`` are spent.
  Each failed attempt counts on the subscription; once it has failed
  ``webhook_disable_after_failures`` times in a row over at least
  ``webhook_disable_after_hours``, it is disabled with the reason and the admins are told
  (``notices.notify_admins``, in the same transaction).

Deliveries of a disabled subscription stay pending and are not claimed until it is enabled
again (PATCH ``active``), when they go out with the attempts they have left; events that
arrive while it is disabled are not queued for it (``webhooks.fan_out``).

A process that crashes mid-send leaves its claims to expire: another dispatcher takes them
over after the lease (the lost attempt counts), and the outcome of an attempt is recorded only
while its claim is still the current one. Receivers drop duplicates by ``webhook-id``.

Time comes from the ``Clock`` given; tests move a fake clock and call ``dispatch_once``. The
``webhook-timestamp`` header alone is read from ``signing_clock`` (the system's by default):
receivers check it against their own wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks import Webhook

from crm_notifier.db import webhook_repository as repo
from crm_notifier.db.webhook_repository import ClaimedDelivery
from crm_notifier.domain import notices
from crm_notifier.domain.context import system_context
from crm_notifier.domain.kinds import Kind
from crm_notifier.domain.retries import next_attempt
from crm_notifier.domain.webhook_addresses import guarded_client
from crm_notifier.domain.webhooks import appended, open_secret
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.crypto import DecryptionFailed
from crm_platform.metrics import REGISTRY

log = logging.getLogger(__name__)

WEBHOOK_ATTEMPTS = Counter(
    "crm_webhook_attempts_total",
    "Partner webhook delivery attempts, by outcome (delivered, retry, failed)",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOKS_DISABLED = Counter(
    "crm_webhook_subscriptions_disabled_total",
    "Partner webhook subscriptions disabled after sustained failure",
    registry=REGISTRY,
)

HttpClientFactory = Callable[[], httpx.AsyncClient]


@dataclass(frozen=True)
class AttemptResult:
    status: int | None  # the receiver's HTTP status, if it answered
    error: str | None  # why it did not count as delivered; None: delivered
    ms: int

    @property
    def delivered(self) -> bool:
        return self.error is None


class WebhookDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        http_client_factory: HttpClientFactory | None = None,
        clock: Clock = SYSTEM_CLOCK,
        *,
        signing_clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.signing_clock = signing_clock
        self._client_factory = http_client_factory or (lambda: guarded_client(settings))
        self._client: httpx.AsyncClient | None = None
        self._sending = asyncio.Semaphore(settings.dispatch_concurrency)
        self._stop = asyncio.Event()

    # -- one round --------------------------------------------------------------------------

    async def dispatch_once(self) -> int:
        """Claim, send and record until a batch comes back short; answers how many attempts
        were made."""
        batch = self.settings.dispatch_batch_size
        attempted = 0
        while True:
            claimed = await self._claim(batch)
            if claimed:
                await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
            attempted += len(claimed)
            if len(claimed) < batch:
                return attempted

    async def _claim(self, batch: int) -> list[ClaimedDelivery]:
        async with self.sessionmaker() as session, session.begin():
            now = self.clock.now()
            lease_until = now + timedelta(seconds=self.settings.dispatch_lease_seconds)
            return await repo.claim_due(session, now, lease_until, batch)

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        async with self._sending:
            try:
                result = await self._send(delivery)
            except Exception as exc:  # a bug, not the receiver's doing: a failed attempt
                log.exception("sending webhook delivery %s failed", delivery.id)
                result = AttemptResult(None, f"internal error: {type(exc).__name__}", 0)
        try:
            await self._record(delivery, result)
        except Exception:  # the database away: the lease runs out and the delivery is retried
            log.exception("recording the outcome of webhook delivery %s failed", delivery.id)

    # -- sending ----------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def _send(self, delivery: ClaimedDelivery) -> AttemptResult:
        started = time.perf_counter()

        def result(status: int | None, error: str | None) -> AttemptResult:
            return AttemptResult(status, error, round((time.perf_counter() - started) * 1000))

        try:
            secret = open_secret(
                self.settings, delivery.subscription_id, delivery.secret_ciphertext
            )
        except DecryptionFailed:
            return result(None, "the subscription's secret cannot be read with this data key")
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        msg_id = str(delivery.id)
        signed_at = self.signing_clock.now()
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, signed_at, body),
        }
        timeout = self.settings.http_timeout_seconds
        try:
            async with (
                asyncio.timeout(timeout),
                self._http().stream(
                    "POST", delivery.url, content=body.encode(), headers=headers
                ) as response,
            ):
                status = response.status_code  # the body is never read
        except (TimeoutError, httpx.TimeoutException):
            return result(None, f"no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return result(None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= status < 300:
            return result(status, None)
        return result(status, f"HTTP {status}")

    # -- outcomes ---------------------------------------------------------------------------

    async def _record(self, delivery: ClaimedDelivery, result: AttemptResult) -> None:
        now = self.clock.now()
        entry = {
            "attempt": delivery.attempt,
            "at": now.isoformat(),
            "status": result.status,
            "error": result.error,
            "ms": result.ms,
        }
        values: dict[str, object] = {
            "response_status": result.status,
            "log": appended(delivery.log, entry),
        }
        async with self.sessionmaker() as session, session.begin():
            if result.delivered:
                values |= {"status": repo.DELIVERED, "delivered_at": now, "last_error": None}
                if await repo.record_outcome(session, delivery, values):
                    await repo.reset_failures(session, delivery.subscription_id)
                    WEBHOOK_ATTEMPTS.labels(outcome="delivered").inc()
                return
            reason = result.error or "not delivered"
            retry_at = next_attempt(
                now,
                delivery.attempt,
                max_attempts=self.settings.delivery_max_attempts,
                base=self.settings.delivery_backoff_seconds,
            )
            if retry_at is None:
                values |= {
                    "status": repo.FAILED,
                    "last_error": f"{reason} (gave up after {delivery.attempt} attempts)",
                }
            else:
                values |= {"next_attempt_at": retry_at, "last_error": reason}
            if not await repo.record_outcome(session, delivery, values):
                return
            WEBHOOK_ATTEMPTS.labels(outcome="failed" if retry_at is None else "retry").inc()
            await self._count_failure(session, delivery, reason, now)

    async def _count_failure(
        self, session: AsyncSession, delivery: ClaimedDelivery, reason: str, now: datetime
    ) -> None:
        failures, since = await repo.count_failure(session, delivery.subscription_id, now)
        hours = self.settings.webhook_disable_after_hours
        why = f"{failures} failed deliveries in a row since {since.isoformat()}; last: {reason}"
        disabled = await repo.disable_if_sustained(
            session,
            delivery.subscription_id,
            now=now,
            min_failures=self.settings.webhook_disable_after_failures,
            failing_since=now - timedelta(hours=hours),
            reason=why,
        )
        if disabled is None:
            return
        partner, url = disabled
        WEBHOOKS_DISABLED.inc()
        log.warning("webhook subscription %s disabled: %s", delivery.subscription_id, why)
        await notices.notify_admins(
            session,
            system_context(self.settings, self.clock),
            kind=Kind.WEBHOOK_DISABLED,
            facts={"partner": partner, "url": url, "reason": why},
        )

    # -- the worker ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run(self) -> None:
        """Until ``stop()``: a round every poll interval."""
        try:
            while not self._stop.is_set():
                try:
                    await self.dispatch_once()
                except Exception:  # the database away, say: try again next round
                    log.exception("webhook dispatch round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.settings.dispatch_poll_seconds)
        finally:
            await self.aclose()

    def stop(self) -> None:
        self._stop.set()
