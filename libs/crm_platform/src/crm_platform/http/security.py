"""The dependency that makes every business route require a valid internal token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm_platform.errors import Forbidden, Unauthenticated
from crm_platform.identity import Identity, InternalTokenVerifier, InvalidToken

_bearer = HTTPBearer(auto_error=False, description="Internal token minted by the gateway")


async def current_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated(
            "This service only answers calls carrying the gateway's internal token."
        )
    verifier: InternalTokenVerifier = request.app.state.token_verifier
    try:
        identity = verifier.verify(credentials.credentials)
    except InvalidToken as exc:
        raise Unauthenticated(f"The internal token is not valid: {exc}.") from exc
    request.state.identity = identity
    return identity


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


def require_roles(*roles: str):  # type: ignore[no-untyped-def]
    """A dependency refusing callers that hold none of ``roles``."""

    async def _check(identity: CurrentIdentity) -> Identity:
        if not identity.has_any_role(*roles):
            raise Forbidden(f"This operation needs one of the roles: {', '.join(roles)}.")
        return identity

    return Depends(_check)
