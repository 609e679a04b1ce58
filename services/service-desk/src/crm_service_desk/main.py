"""App factory of the service-desk service."""

from fastapi import FastAPI

from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.http.app import create_service_app
from crm_service_desk.api import kb, reports, sla_settings, surveys, teams, tickets
from crm_service_desk.domain.sla_checker import SlaChecker
from crm_service_desk.events.handlers import HANDLERS
from crm_service_desk.events.published import PUBLISHED_TYPES
from crm_service_desk.settings import Settings


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="CRM service-desk",
        routers=[
            tickets.router,
            teams.router,
            sla_settings.router,
            reports.router,
            kb.router,
            surveys.router,
        ],
        handlers=HANDLERS,
        published_types=PUBLISHED_TYPES,
        # The SLA checker runs in every process; clocks are claimed, never shared.
        background=[
            lambda sessions: (
                SlaChecker(sessions, settings, clock) if settings.sla_checker_enabled else None
            )
        ],
    )
    app.state.clock = clock
    return app
