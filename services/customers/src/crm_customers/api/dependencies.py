"""Dependencies of the customers API: the request context and the expected version."""

from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from crm_customers.domain.context import RequestContext
from crm_customers.settings import CustomersSettings
from crm_platform.crypto import FieldCipher
from crm_platform.http.security import CurrentIdentity


@lru_cache(maxsize=4)
def _cipher(data_key: str) -> FieldCipher:
    return FieldCipher(data_key)


async def request_context(request: Request, identity: CurrentIdentity) -> RequestContext:
    """Async on purpose: FastAPI runs a plain-def dependency in a worker thread."""
    settings: CustomersSettings = request.app.state.settings
    return RequestContext(identity=identity, settings=settings, cipher=_cipher(settings.data_key))


Context = Annotated[RequestContext, Depends(request_context)]
