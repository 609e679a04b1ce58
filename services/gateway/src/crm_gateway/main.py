"""App factory of the gateway."""

from fastapi import FastAPI

from crm_gateway.api.proxy import (
    IMPORTS_PATH,
    close_upstream_client,
    open_upstream_client,
    router,
)
from crm_gateway.settings import GatewaySettings
from crm_platform.http.app import create_service_app


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    return create_service_app(
        settings,
        title="CRM gateway",
        public_routers=[router],
        on_startup=[open_upstream_client],
        on_shutdown=[close_upstream_client],
        body_limits={IMPORTS_PATH: settings.import_max_bytes},
    )
