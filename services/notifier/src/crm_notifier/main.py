"""App factory of the notifier service."""

from fastapi import FastAPI

from crm_notifier.api import notifications, partner_bus, templates, webhooks
from crm_notifier.domain.dispatcher import DeliveryDispatcher
from crm_notifier.domain.webhook_dispatcher import WebhookDispatcher
from crm_notifier.events.handlers import build_handlers
from crm_notifier.events.published import PUBLISHED_TYPES
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.http.app import create_service_app


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="CRM notifier",
        routers=[notifications.router, templates.router, webhooks.router, partner_bus.router],
        handlers=build_handlers(settings, clock),
        published_types=PUBLISHED_TYPES,
        # Both dispatchers run in every process; deliveries are claimed, never shared.
        background=[
            lambda sessions: (
                DeliveryDispatcher(sessions, settings, clock)
                if settings.dispatcher_enabled
                else None
            ),
            lambda sessions: (
                WebhookDispatcher(sessions, settings, clock=clock)
                if settings.dispatcher_enabled
                else None
            ),
        ],
    )
    app.state.clock = clock
    return app
