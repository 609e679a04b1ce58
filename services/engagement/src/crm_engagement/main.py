"""App factory of the engagement service."""

import asyncio

from fastapi import FastAPI

from crm_engagement.api import action_items, analytics, engagement, followups, opportunities
from crm_engagement.domain.scheduler import ReminderScheduler
from crm_engagement.events.handlers import build_handlers
from crm_engagement.events.published import PUBLISHED_TYPES
from crm_engagement.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.http.app import create_service_app


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    settings = settings or Settings()

    async def start_scheduler(app: FastAPI) -> None:
        """The reminder scheduler runs in every process; rows are claimed, never shared."""
        if not settings.scheduler_enabled:
            return
        scheduler = ReminderScheduler(app.state.runtime.sessionmaker, settings, clock)
        app.state.reminder_scheduler = scheduler
        app.state.reminder_task = asyncio.create_task(scheduler.run(), name="reminders")

    async def stop_scheduler(app: FastAPI) -> None:
        scheduler = getattr(app.state, "reminder_scheduler", None)
        if scheduler is not None:
            scheduler.stop()
            await app.state.reminder_task

    app = create_service_app(
        settings,
        title="CRM engagement",
        routers=[
            followups.router,
            action_items.router,
            engagement.router,
            opportunities.router,
            analytics.router,
        ],
        handlers=build_handlers(settings, clock),
        published_types=PUBLISHED_TYPES,
        on_startup=[start_scheduler],
        on_shutdown=[stop_scheduler],
    )
    app.state.clock = clock
    return app
