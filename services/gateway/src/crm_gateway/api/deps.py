"""Who is calling: the authentication dependency every non-public gateway route uses.

A placeholder until the gateway's people side (users, JWT access tokens, API keys) lands and
replaces it: it knows no credentials yet, so it refuses every call with 401. Tests act as a
given principal with ``app.dependency_overrides[authenticated] = lambda: Principal(...)``.
"""

from __future__ import annotations

from fastapi import Request

from crm_gateway.domain.principals import Principal
from crm_platform.errors import Unauthenticated


async def authenticated(request: Request) -> Principal:
    raise Unauthenticated("Sign in: send a bearer access token or an API key.")
