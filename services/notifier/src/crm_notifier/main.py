"""App factory of the notifier service."""

from fastapi import FastAPI

from crm_notifier.api import partner_bus
from crm_notifier.events.handlers import HANDLERS
from crm_notifier.settings import Settings
from crm_platform.http.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="CRM notifier",
        routers=[partner_bus.router],
        handlers=HANDLERS,
    )
