"""App factory of the notifier service."""

from fastapi import FastAPI

from crm_notifier.api import webhooks
from crm_notifier.domain.webhook_dispatcher import WebhookDispatcher
from crm_notifier.events.handlers import HANDLERS
from crm_notifier.settings import Settings
from crm_platform.clock import SYSTEM_CLOCK, Clock
from crm_platform.http.app import create_service_app


def create_app(settings: Settings | None = None, *, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        settings,
        title="CRM notifier",
        routers=[webhooks.router],
        handlers=HANDLERS,
        # The partner-webhook dispatcher runs in every process; deliveries are claimed.
        background=[
            lambda sessions: (
                WebhookDispatcher(sessions, settings, clock=clock)
                if settings.dispatcher_enabled
                else None
            )
        ],
    )
    app.state.clock = clock
    return app
