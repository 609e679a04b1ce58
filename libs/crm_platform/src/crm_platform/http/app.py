"""The app factory every service uses, so all five behave the same at the edges."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from crm_platform.background import BackgroundWorkers, WorkerFactory
from crm_platform.events.consumer import Handler
from crm_platform.http.middleware import RequestContextMiddleware
from crm_platform.http.operations import admin_router, health_router
from crm_platform.http.problems import install_problem_handlers
from crm_platform.http.security import current_identity
from crm_platform.identity import InternalTokenVerifier
from crm_platform.logging import configure_logging
from crm_platform.runtime import ServiceRuntime, freeze_startup_objects
from crm_platform.settings import PlatformSettings

Hook = Callable[[FastAPI], Awaitable[None]]


def create_service_app(
    settings: PlatformSettings,
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    public_routers: Sequence[APIRouter] = (),
    handlers: dict[str, Handler] | None = None,
    published_types: Sequence[str] = (),
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    background: Sequence[WorkerFactory] = (),
    version: str = "0.1.0",
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """Build a service: ``routers`` require the internal token, ``public_routers`` do not.

    ``body_limits`` gives exact paths (uploads) a body limit other than ``max_body_bytes``.
    ``background`` builds the service's timer work (``crm_platform.background``), run in
    every process once the runtime is up and stopped before it.
    """
    workers = BackgroundWorkers(background)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        runtime = ServiceRuntime(
            settings, handlers=dict(handlers or {}), published_types=list(published_types)
        )
        app.state.runtime = runtime
        await runtime.start()
        for hook in on_startup:
            await hook(app)
        workers.start(runtime.sessionmaker)
        app.state.background = workers
        freeze_startup_objects()
        try:
            yield
        finally:
            await workers.stop()
            for hook in on_shutdown:
                await hook(app)
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.settings = settings
    app.state.token_verifier = InternalTokenVerifier(settings.internal_token_secret)
    install_problem_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        service=settings.service_name,
        max_body_bytes=settings.max_body_bytes,
        body_limits=body_limits,
    )
    app.include_router(health_router)
    app.include_router(admin_router)
    for router in public_routers:
        app.include_router(router)
    for router in routers:
        app.include_router(router, dependencies=[Depends(current_identity)])
    return app
