"""App factory of the service-desk service."""

from fastapi import FastAPI

from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.http.app import create_service_app
from crm_service_desk.api import sla_settings
from crm_service_desk.events.handlers import HANDLERS
from crm_service_desk.settings import Settings


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings, title="CRM service-desk", routers=[sla_settings.router], handlers=HANDLERS
    )
    app.state.clock = clock
    return app
