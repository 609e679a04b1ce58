"""Request-scoped dependencies shared by every service's routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.runtime import ServiceRuntime


async def get_runtime(request: Request) -> ServiceRuntime:
    """Async on purpose: FastAPI runs a plain-def dependency in a worker thread."""
    return request.app.state.runtime


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose transaction the domain code commits (or that rolls back on error)."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
