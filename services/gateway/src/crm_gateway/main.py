"""App factory of the gateway."""

from fastapi import FastAPI

from crm_gateway.api.proxy import (
    IMPORTS_PATH,
    router,
    start_forwarding,
    stop_forwarding,
)
from crm_gateway.settings import GatewaySettings
from crm_platform.http.app import create_service_app


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    return create_service_app(
        settings,
        title="CRM gateway",
        public_routers=[router],
        on_startup=[start_forwarding],
        on_shutdown=[stop_forwarding],
        body_limits={IMPORTS_PATH: settings.import_max_bytes},
    )
