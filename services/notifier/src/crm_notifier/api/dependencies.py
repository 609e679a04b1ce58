"""Dependencies of the API: the request context."""

from typing import Annotated

from fastapi import Depends

from crm_notifier.domain.context import RequestContext
from crm_platform.http.context import service_context

Context = Annotated[RequestContext, Depends(service_context)]
