"""Dependencies of the API: the request context."""

from typing import Annotated

from fastapi import Depends

from crm_platform.http.context import service_context
from crm_service_desk.domain.context import RequestContext

Context = Annotated[RequestContext, Depends(service_context)]
