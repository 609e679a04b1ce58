"""The reminder scheduler, run by every engagement process (replicas included).

``fire_due`` marks due reminders fired a batch per short transaction, one statement each
(``FOR UPDATE SKIP LOCKED``: a row another scheduler holds is skipped, and one it fired
meanwhile no longer matches), and stages their ``reminder.due`` in the same transaction, so
each reminder fires exactly once, whatever the number of schedulers and wherever one
crashes. A reminder fired more than ``late_after`` past its time (the service was down
across it) is marked late.
``scan`` finds customers past their cadence and tops maintenance plans up.

Time comes from the ``Clock`` given; tests move a fake clock and call the steps directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import followup_repository as repo
from crm_engagement.domain import cadence, plans
from crm_engagement.domain.engagement_settings import load_rules
from crm_engagement.domain.reminders import stage_fired
from crm_engagement.domain.rules import Rules
from crm_engagement.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanReport:
    overdue_customers: int
    plan_tasks_added: int


class ReminderScheduler:
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

    async def fire_due(self) -> int:
        """Fire every reminder due now; returns how many this scheduler fired."""
        async with self.sessionmaker() as session:
            rules = await load_rules(session, self.settings)
        workers = self.settings.reminder_fire_workers
        return sum(await asyncio.gather(*(self._fire_batches(rules) for _ in range(workers))))

    async def _fire_batches(self, rules: Rules) -> int:
        """Batches until one comes back short. Workers run side by side (on connections of
        their own) as two schedulers would: the database writes one batch while Python
        builds the events of another; ``SKIP LOCKED`` keeps their batches apart."""
        fired = 0
        batch = self.settings.reminder_batch_size
        while True:
            async with self.sessionmaker() as session, session.begin():
                now = self.clock.now()
                rows = await repo.fire_due_reminders(session, now, now - rules.late_after, batch)
                stage_fired(session, rows, now)
            fired += len(rows)
            if len(rows) < batch:
                return fired

    async def scan(self) -> ScanReport:
        """Cadence reminders, then the plans' top-up, each in its own transaction."""
        async with self.sessionmaker() as session, session.begin():
            now = self.clock.now()
            rules = await load_rules(session, self.settings)
            overdue = await cadence.remind_overdue(session, rules, now)
        async with self.sessionmaker() as session, session.begin():
            added = await plans.top_up_all(session, rules, now)
        return ScanReport(overdue, added)

    async def run(self) -> None:
        """Until ``stop()``: fire due reminders every poll interval, scan every scan interval."""
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while not self._stop.is_set():
            try:
                if loop.time() >= next_scan:
                    await self.scan()
                    next_scan = loop.time() + self.settings.reminder_scan_seconds
                await self.fire_due()
            except Exception:  # the database away, say: try again next round
                log.exception("reminder scheduler round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.settings.reminder_poll_seconds)

    def stop(self) -> None:
        self._stop.set()
