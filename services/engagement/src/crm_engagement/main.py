"""App factory of the engagement service."""

from fastapi import FastAPI

from crm_engagement.api import analytics, opportunities
from crm_engagement.events.handlers import HANDLERS
from crm_engagement.events.published import PUBLISHED_TYPES
from crm_engagement.settings import Settings
from crm_platform.http.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="CRM engagement",
        routers=[opportunities.router, analytics.router],
        handlers=HANDLERS,
        published_types=PUBLISHED_TYPES,
    )
