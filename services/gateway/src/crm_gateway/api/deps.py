"""Who a public request comes from: the ``authenticated`` dependency (a person's access JWT
or a partner's API key), ``require_roles`` for the gateway's own admin endpoints, the
identity the forwarding mints its internal token for, and the identity machinery's start.

``authenticated`` checks the user's active flag and roles, and the session's revocation (or
the key's revocation, expiry and owner) on every request, as this process last read them: it
forgets them when the database notifies a change (``db/identity_reads.py``) and after its own
identity writes, so a disabled user, a revoked key or an ended session is refused on the next
request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBearer

from crm_gateway.db.identity_reads import (
    IdentityChangeListener,
    IdentityReads,
    RememberedIdentityReads,
)
from crm_gateway.domain import authentication, users
from crm_gateway.domain.audit import Caller
from crm_gateway.domain.authentication import TokenSettings
from crm_gateway.domain.passwords import Passwords, password_problems
from crm_gateway.domain.principals import Principal
from crm_gateway.domain.roles import ADMIN
from crm_gateway.domain.throttle import LoginThrottle, LoginThrottled
from crm_gateway.domain.tokens import API_KEY_MARK, AccessTokenVerifier
from crm_gateway.settings import GatewaySettings
from crm_platform.errors import Conflict, Forbidden, Unauthenticated
from crm_platform.http.problems import problem_response, status_of
from crm_platform.runtime import ServiceRuntime

log = logging.getLogger(__name__)

API_KEY_HEADER = "x-api-key"
CHALLENGE = {"www-authenticate": 'Bearer realm="crm"'}

# Only for the OpenAPI document (``security`` of the gateway's own operations); the
# dependency below reads the headers itself so the forwarding code can call it directly.
documented_security = [
    Depends(HTTPBearer(auto_error=False, description="An access token from /api/v1/auth/login")),
    Depends(APIKeyHeader(name="X-API-Key", auto_error=False, description="A partner's API key")),
]


def _credentials(request: Request) -> tuple[str, str] | None:
    """``("jwt", token)`` or ``("key", key)`` from ``Authorization: Bearer`` or ``X-API-Key``."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise Unauthenticated(
                "Send 'Authorization: Bearer <access token or API key>'.", slug="invalid-token"
            )
        return ("key", value) if value.startswith(API_KEY_MARK) else ("jwt", value)
    key = request.headers.get(API_KEY_HEADER)
    if key is not None:
        return "key", key.strip()
    return None


async def authenticated(request: Request) -> Principal:
    """The principal of this request (also set as ``request.state.principal``); a 401
    problem with ``WWW-Authenticate: Bearer`` when credentials are missing or not valid."""
    found = _credentials(request)
    if found is None:
        raise Unauthenticated("Sign in (Authorization: Bearer <access token>) or send an API key.")
    kind, credential = found
    states: IdentityReads = request.app.state.identity_reads
    if kind == "key":
        principal = await authentication.principal_of_api_key(states, credential)
    else:
        principal = await authentication.principal_of_access_token(
            states, request.app.state.access_tokens, credential
        )
    request.state.principal = principal
    return principal


AuthenticatedDep = Annotated[Principal, Depends(authenticated)]


def require_roles(*roles: str, api_keys: bool = False):  # type: ignore[no-untyped-def]
    """A dependency refusing (403) callers that hold none of ``roles``; API keys are refused
    unless ``api_keys`` (the gateway's administration is for people)."""

    async def _check(principal: AuthenticatedDep) -> Principal:
        if principal.kind == "api_key" and not api_keys:
            raise Forbidden("This operation is for signed-in people, not API keys.")
        if not principal.roles.intersection(roles):
            raise Forbidden(f"This operation needs one of the roles: {', '.join(roles)}.")
        return principal

    return Depends(_check)


AdminDep = Annotated[Principal, require_roles(ADMIN)]


def internal_identity(principal: Principal) -> tuple[str, frozenset[str], str]:
    """``(subject, roles, name)`` for the internal token the forwarding mints: the user's id
    (an API key acts as its owner), the owner's roles, the display name."""
    return principal.user_id, principal.roles, principal.name


def caller_of(request: Request, principal: Principal | None = None) -> Caller:
    ip = request.client.host if request.client else None
    if principal is None:
        return Caller(ip=ip)
    return Caller(user_id=principal.user_id, api_key_id=principal.key_id, ip=ip)


# --------------------------------------------------------------------------- app wiring


def install_identity_problems(app: FastAPI) -> None:
    """401s carry ``WWW-Authenticate: Bearer``; a throttled login is a 429 with
    ``Retry-After``."""

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        return problem_response(
            status_of(exc),
            exc.slug,
            exc.detail,
            instance=request.url.path,
            headers=CHALLENGE,
            **exc.facts,
        )

    @app.exception_handler(LoginThrottled)
    async def _throttled(request: Request, exc: LoginThrottled) -> JSONResponse:
        return problem_response(
            429,
            exc.slug,
            exc.detail,
            instance=request.url.path,
            headers={"retry-after": str(exc.retry_after)},
            **exc.facts,
        )


async def start_identity(app: FastAPI) -> None:
    """The password hasher, the login throttle, and on an empty database the first admin."""
    settings: GatewaySettings = app.state.settings
    if settings.environment == "production":
        problems = password_problems(settings.admin_password, username=settings.admin_username)
        if problems:
            raise RuntimeError(f"CRM_ADMIN_PASSWORD is too weak: {'; '.join(problems)}")
    app.state.passwords = Passwords(
        time_cost=settings.password_hash_time_cost,
        memory_kib=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
    )
    app.state.login_throttle = LoginThrottle(
        max_per_username=settings.login_max_failures_per_username,
        max_per_ip=settings.login_max_failures_per_ip,
        window_seconds=settings.login_failure_window_seconds,
    )
    app.state.access_tokens = AccessTokenVerifier(settings.jwt_secret)
    app.state.token_settings = TokenSettings(
        secret=settings.jwt_secret,
        access_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )
    runtime: ServiceRuntime = app.state.runtime
    if runtime.engine.dialect.name == "postgresql":
        reads = RememberedIdentityReads(runtime.engine)
        app.state.identity_listener = IdentityChangeListener(settings.database_url, reads)
        app.state.identity_listener.start()
        app.state.identity_reads = reads
    else:  # one process on one machine: read every time
        app.state.identity_reads = IdentityReads(runtime.engine)
    try:
        async with runtime.sessionmaker() as session, session.begin():
            created = await users.bootstrap_admin(
                session,
                username=settings.admin_username,
                password=settings.admin_password,
                passwords=app.state.passwords,
            )
    except Conflict:  # another replica, starting at the same moment, created it
        created = None
    if created is not None:
        log.info("no user existed: created the admin %r (CRM_ADMIN_USERNAME)", created.username)


async def stop_identity(app: FastAPI) -> None:
    listener: IdentityChangeListener | None = getattr(app.state, "identity_listener", None)
    if listener is not None:
        await listener.stop()


async def forgets_identities(request: Request) -> AsyncIterator[None]:
    """For the routes that change users, sessions and keys: after the request (its
    transaction committed), this process forgets what it remembered, so its very next request
    reads the change; other processes learn of it from the database's notification."""
    try:
        yield
    finally:
        if request.method not in ("GET", "HEAD"):
            reads: IdentityReads | None = getattr(request.app.state, "identity_reads", None)
            if reads is not None:
                reads.forget_all()


# Entered before the request's transaction, so it leaves after that transaction committed.
FORGETS_IDENTITIES = Depends(forgets_identities, scope="function")
