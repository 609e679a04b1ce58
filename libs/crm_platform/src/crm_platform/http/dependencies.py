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


async def request_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction, opened here at the edge: the use case runs inside it and
    never begins or commits one itself, so the same use case serves an event consumer (whose
    transaction also records the event in the inbox).

    It commits when the route function returns and *before* the response is sent
    (``scope="function"``): with FastAPI's default request scope the exit code runs after the
    response has started, and a failing commit would have answered 2xx for nothing. An error
    in the route rolls everything back, events included.
    """
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessionmaker() as session, session.begin():
        yield session


async def session_without_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """A session with no transaction open, for the two kinds of work that are not one
    transaction: a job that commits batch by batch (an import, so a failure keeps the batches
    before it) and a response streamed after the route returns (an export, reading batch by
    batch). The session is closed once the response is sent."""
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(request_transaction, scope="function")]
JobSessionDep = Annotated[AsyncSession, Depends(session_without_transaction)]
RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
