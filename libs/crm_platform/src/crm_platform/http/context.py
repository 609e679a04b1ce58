"""The request's ``ServiceContext``, as a dependency: the caller's identity, the app's settings
and its clock (``app.state.clock``, a fake one in tests)."""

from typing import Any

from fastapi import Request

from crm_platform.clock import SYSTEM_CLOCK
from crm_platform.context import ServiceContext
from crm_platform.http.security import CurrentIdentity


async def service_context(request: Request, identity: CurrentIdentity) -> ServiceContext[Any]:
    """Async on purpose: FastAPI runs a plain-def dependency in a worker thread."""
    state = request.app.state
    return ServiceContext(
        identity=identity, settings=state.settings, clock=getattr(state, "clock", SYSTEM_CLOCK)
    )
