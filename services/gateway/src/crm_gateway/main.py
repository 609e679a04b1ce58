"""App factory of the gateway."""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from crm_gateway.api import (
    api_document,
    api_keys,
    audit,
    auth,
    console,
    customer360,
    people,
    users,
)
from crm_gateway.api.deps import install_identity_problems, start_identity, stop_identity
from crm_gateway.api.proxy import (
    IMPORTS_PATH,
    router,
    start_forwarding,
    stop_forwarding,
)
from crm_gateway.api.security_headers import SecurityHeadersMiddleware
from crm_gateway.events.handlers import HANDLERS
from crm_gateway.events.published import PUBLISHED_TYPES
from crm_gateway.settings import GatewaySettings
from crm_platform.http.app import create_service_app

# The gateway's own API: each route authenticates the person or key itself (api.deps).
IDENTITY_ROUTERS = [auth.router, users.router, people.router, api_keys.router, audit.router]


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    app = create_service_app(
        settings,
        title="CRM gateway",
        # The gateway's own operations before the forwarding routes' catch-all paths.
        public_routers=[
            *IDENTITY_ROUTERS,
            customer360.router,
            api_document.router,
            router,
            console.router,  # last: every path no other route answers is one of the app's
        ],
        handlers=HANDLERS,
        published_types=PUBLISHED_TYPES,
        on_startup=[start_identity, start_forwarding],
        on_shutdown=[stop_forwarding, stop_identity],
        body_limits={IMPORTS_PATH: settings.import_max_bytes},
    )
    install_identity_problems(app)
    app.state.console_root = console.console_root(settings.web_dir)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=[
                "authorization",
                "content-type",
                "if-match",
                "idempotency-key",
                "x-api-key",
                "x-request-id",
                "x-correlation-id",
            ],
            expose_headers=[
                "etag",
                "location",
                "retry-after",
                "x-request-id",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
            ],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds)
    return app
