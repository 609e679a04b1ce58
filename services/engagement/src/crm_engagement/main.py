"""App factory of the engagement service."""

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
        # The reminder scheduler runs in every process; rows are claimed, never shared.
        background=[
            lambda sessions: (
                ReminderScheduler(sessions, settings, clock) if settings.scheduler_enabled else None
            )
        ],
    )
    app.state.clock = clock
    return app
