"""Dependencies of the service-desk API: the request context."""

from typing import Annotated

from fastapi import Depends, Request

from crm_platform.http.security import CurrentIdentity
from crm_service_desk.domain.context import RequestContext


async def request_context(request: Request, identity: CurrentIdentity) -> RequestContext:
    """Async on purpose: FastAPI runs a plain-def dependency in a worker thread."""
    return RequestContext(
        identity=identity, settings=request.app.state.settings, clock=request.app.state.clock
    )


Context = Annotated[RequestContext, Depends(request_context)]
