"""The SLA checker, run by every service-desk process (replicas included).

Each round claims, a batch per short transaction, the running clocks past their warning
moment and those past their due moment whose event is not sent yet, and the callbacks that
came due, marking each in the claiming statement (``FOR UPDATE SKIP LOCKED``: a row another
checker holds is skipped, one it marked no longer matches) and staging its event in the same
transaction. So each warning and each breach is published exactly once, whatever the number
of checkers and wherever one crashes (a crash rolls the marks back with the events).

Time comes from the ``Clock`` given; tests move a fake clock and call ``check_once``.

Every ``BUSINESS_GAUGES_EVERY`` a round also refreshes the dashboard's business gauges: SLA
compliance per clock kind over the clocks started in the last 7 days, and CSAT over the
surveys answered in the last 30 days (two aggregates; NaN while there is nothing to measure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.events.outbox import add_serialized_events
from crm_platform.metrics import REGISTRY
from crm_service_desk.db import report_repository
from crm_service_desk.db import ticket_repository as repo
from crm_service_desk.domain.reports import SATISFIED_FROM
from crm_service_desk.domain.sla import ClockKind
from crm_service_desk.events import published as ev
from crm_service_desk.settings import Settings

log = logging.getLogger(__name__)

SLA_BREACHES = Counter(
    "crm_sla_breaches_total",
    "SLA clocks that passed their target, by clock kind (assign, first_response, resolve)",
    ["kind"],
    registry=REGISTRY,
)
SLA_WARNINGS = Counter(
    "crm_sla_warnings_total",
    "SLA clocks that passed their warning share, by clock kind",
    ["kind"],
    registry=REGISTRY,
)
TICKETS_OPEN = Gauge(
    "crm_tickets_open",
    "Tickets pending assignment or in progress, by priority (as of the last SLA round)",
    ["priority"],
    registry=REGISTRY,
)
BUSINESS_GAUGES_EVERY = timedelta(minutes=5)
SLA_COMPLIANCE_WINDOW = timedelta(days=7)
CSAT_WINDOW = timedelta(days=30)
SLA_COMPLIANCE = Gauge(
    "crm_sla_compliance_ratio",
    "Of the SLA clocks started in the last 7 days and decided (met, or breached), the share "
    "met, by kind; NaN when none (refreshed every 5 minutes by the SLA checker)",
    ["kind"],
    registry=REGISTRY,
)
CSAT_AVERAGE = Gauge(
    "crm_csat_average_score",
    "Average score (1 to 5) of the surveys answered in the last 30 days; NaN when none "
    "(refreshed every 5 minutes by the SLA checker)",
    registry=REGISTRY,
)
CSAT_SATISFIED = Gauge(
    "crm_csat_satisfied_ratio",
    "CSAT: share of the surveys answered in the last 30 days scoring 4 or 5; NaN when none "
    "(refreshed every 5 minutes by the SLA checker)",
    registry=REGISTRY,
)
NAN = float("nan")
for _kind in ClockKind:
    SLA_COMPLIANCE.labels(kind=_kind.value).set(NAN)
CSAT_AVERAGE.set(NAN)
CSAT_SATISFIED.set(NAN)


@dataclass(frozen=True)
class CheckReport:
    warnings: int
    breaches: int
    callbacks: int


def alert_bodies(rows: Sequence[Any], routing_key: str, at: datetime) -> list[tuple[Any, str, str]]:
    """The events of claimed clocks (``repo.ALERT_COLUMNS`` rows), serialized in bulk."""
    return ev.PUBLISHED.serialized(
        routing_key,
        (
            (
                str(row.ticket_id),
                {
                    "ticket_id": str(row.ticket_id),
                    "code": row.code,
                    "customer_id": str(row.customer_id),
                    "customer_name": row.customer_name,
                    "title": row.title,
                    "ticket_type": row.ticket_type,
                    "priority": row.priority,
                    "kind": row.kind,
                    "round": row.round,
                    "target_minutes": row.target_seconds // 60,
                    "started_at": row.started_at,
                    "due_at": row.due_at,
                    "detected_at": at,
                    "assignee_id": row.assignee_id,
                    "supervisor_id": row.supervisor_id,
                    "team_key": row.team_key,
                },
            )
            for row in rows
        ),
        actor="system",
    )


def callback_bodies(rows: Sequence[Any]) -> list[tuple[Any, str, str]]:
    return ev.PUBLISHED.serialized(
        ev.TICKET_CALLBACK_DUE,
        (
            (
                str(row.ticket_id),
                {
                    "callback_id": str(row.id),
                    "ticket_id": str(row.ticket_id),
                    "code": row.code,
                    "customer_id": str(row.customer_id),
                    "customer_name": row.customer_name,
                    "contact_id": str(row.contact_id) if row.contact_id else None,
                    "title": row.title,
                    "assignee_id": row.assignee_id,
                    "due_at": row.due_at,
                    "resolution": row.resolution,
                },
            )
            for row in rows
        ),
        actor="system",
    )


class SlaChecker:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self._stop = asyncio.Event()
        self._business_gauges_at: datetime | None = None

    async def check_once(self) -> CheckReport:
        """Breaches, then warnings (of clocks not breached yet), then callbacks, each until a
        batch comes back short."""
        breaches = await self._claim_batches(breach=True)
        warnings = await self._claim_batches(breach=False)
        callbacks = await self._callback_batches()
        return CheckReport(warnings, breaches, callbacks)

    async def _claim_batches(self, *, breach: bool) -> int:
        routing_key = ev.TICKET_SLA_BREACHED if breach else ev.TICKET_SLA_WARNING
        counter = SLA_BREACHES if breach else SLA_WARNINGS
        batch = self.settings.sla_batch_size
        claimed = 0
        while True:
            async with self.sessionmaker() as session, session.begin():
                now = self.clock.now()
                rows = await repo.claim_alerts(session, now, batch, breach=breach)
                add_serialized_events(session, alert_bodies(rows, routing_key, now))
            for row in rows:
                counter.labels(kind=row.kind).inc()
            claimed += len(rows)
            if len(rows) < batch:
                return claimed

    async def _callback_batches(self) -> int:
        batch = self.settings.sla_batch_size
        claimed = 0
        while True:
            async with self.sessionmaker() as session, session.begin():
                rows = await repo.claim_due_callbacks(session, self.clock.now(), batch)
                add_serialized_events(session, callback_bodies(rows))
            claimed += len(rows)
            if len(rows) < batch:
                return claimed

    async def count_open(self) -> None:
        async with self.sessionmaker() as session:
            counts = await repo.open_tickets_by_priority(session)
        for priority in ("high", "medium", "low"):
            TICKETS_OPEN.labels(priority=priority).set(counts.get(priority, 0))

    async def refresh_business_gauges(self) -> None:
        """SLA compliance per kind (7 days) and CSAT (30 days), as the reports compute them."""
        now = self.clock.now()
        async with self.sessionmaker() as session:
            outcomes = await report_repository.sla_outcomes_in(
                session, now - SLA_COMPLIANCE_WINDOW, now, now
            )
            answers, average, satisfied = await report_repository.csat_since(
                session, now - CSAT_WINDOW, SATISFIED_FROM
            )
        decided = {row[0]: (int(row[2] or 0), int(row[3] or 0)) for row in outcomes}
        for kind in ClockKind:
            met, breached = decided.get(kind.value, (0, 0))
            SLA_COMPLIANCE.labels(kind=kind.value).set(
                met / (met + breached) if met + breached else NAN
            )
        CSAT_AVERAGE.set(average if answers and average is not None else NAN)
        CSAT_SATISFIED.set(satisfied / answers if answers else NAN)
        self._business_gauges_at = now

    def _business_gauges_due(self) -> bool:
        last = self._business_gauges_at
        return last is None or self.clock.now() - last >= BUSINESS_GAUGES_EVERY

    async def run(self) -> None:
        """Until ``stop()``: a round every poll interval."""
        while not self._stop.is_set():
            try:
                await self.check_once()
                await self.count_open()
                if self._business_gauges_due():
                    await self.refresh_business_gauges()
            except Exception:  # the database away, say: try again next round
                log.exception("SLA check round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.sla_poll_seconds)

    def stop(self) -> None:
        self._stop.set()
