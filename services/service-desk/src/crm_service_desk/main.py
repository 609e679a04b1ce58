"""App factory of the service-desk service."""

from fastapi import FastAPI

from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.http.app import create_service_app
from crm_service_desk.api import kb
from crm_service_desk.events.handlers import HANDLERS
from crm_service_desk.events.published import PUBLISHED_TYPES
from crm_service_desk.settings import Settings


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="CRM service-desk",
        routers=[kb.router],
        handlers=HANDLERS,
        published_types=PUBLISHED_TYPES,
    )
    app.state.clock = clock
    return app
