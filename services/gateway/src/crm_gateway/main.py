"""App factory of the gateway."""

from fastapi import FastAPI

from crm_gateway.api import api_keys, audit, auth, users
from crm_gateway.api.deps import install_identity_problems, start_identity
from crm_gateway.api.proxy import (
    IMPORTS_PATH,
    router,
    start_forwarding,
    stop_forwarding,
)
from crm_gateway.events.handlers import HANDLERS
from crm_gateway.events.published import PUBLISHED_TYPES
from crm_gateway.settings import GatewaySettings
from crm_platform.http.app import create_service_app

# The gateway's own API: each route authenticates the person or key itself (api.deps).
IDENTITY_ROUTERS = [auth.router, users.router, api_keys.router, audit.router]


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    app = create_service_app(
        settings,
        title="CRM gateway",
        public_routers=[*IDENTITY_ROUTERS, router],
        handlers=HANDLERS,
        published_types=PUBLISHED_TYPES,
        on_startup=[start_identity, start_forwarding],
        on_shutdown=[stop_forwarding],
        body_limits={IMPORTS_PATH: settings.import_max_bytes},
    )
    install_identity_problems(app)
    return app
