"""Signing in: login, refresh, logout, own password, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from crm_gateway.api.deps import (
    CHALLENGE,
    FORGETS_IDENTITIES,
    AuthenticatedDep,
    authenticated,
    caller_of,
    documented_security,
)
from crm_gateway.api.schemas import (
    LoginBody,
    LogoutBody,
    MeOut,
    PasswordChangeBody,
    RefreshBody,
    TokensOut,
    UserOut,
)
from crm_gateway.domain import authentication, users
from crm_gateway.domain.authentication import Refused
from crm_gateway.domain.commands import ChangePassword, Login
from crm_platform.errors import Forbidden
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.problems import problem_response

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=[FORGETS_IDENTITIES])
NO_STORE = {"cache-control": "no-store"}  # tokens are never kept by a cache
REFUSED = {401: {"description": "Not signed in, or the credentials are not valid"}}


def _refused(request: Request, refused: Refused) -> JSONResponse:
    return problem_response(
        401, refused.reason, refused.detail, instance=request.url.path, headers=CHALLENGE
    )


def _tokens(issued: authentication.IssuedTokens) -> Response:
    return Response(
        TokensOut.of(issued).model_dump_json(), media_type="application/json", headers=NO_STORE
    )


@router.post(
    "/login",
    response_model=TokensOut,
    responses={**REFUSED, 429: {"description": "Too many failed sign-ins; see Retry-After"}},
)
async def login(body: LoginBody, request: Request, session: SessionDep) -> Response:
    state = request.app.state
    result = await authentication.login(
        session,
        caller_of(request),
        Login(username=body.username, password=body.password),
        passwords=state.passwords,
        throttle=state.login_throttle,
        settings=state.token_settings,
    )
    if isinstance(result, Refused):
        return _refused(request, result)
    return _tokens(result)


@router.post("/refresh", response_model=TokensOut, responses=REFUSED)
async def refresh(body: RefreshBody, request: Request, session: SessionDep) -> Response:
    result = await authentication.refresh(
        session, caller_of(request), body.refresh_token, settings=request.app.state.token_settings
    )
    if isinstance(result, Refused):
        return _refused(request, result)
    return _tokens(result)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=documented_security,
    responses=REFUSED,
)
async def logout(request: Request, session: SessionDep, body: LogoutBody | None = None) -> Response:
    """Ends the session of the access token sent, or of the refresh token in the body."""
    principal = None
    if "authorization" in request.headers or body is None or body.refresh_token is None:
        principal = await authenticated(request)
    await authentication.logout(
        session,
        caller_of(request, principal),
        session_id=principal.session_id if principal else None,
        refresh_token=body.refresh_token if body and principal is None else None,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=documented_security,
    responses=REFUSED,
)
async def logout_everywhere(
    request: Request, session: SessionDep, principal: AuthenticatedDep
) -> Response:
    """Ends every session of yours, on every device, this one included."""
    if principal.kind != "user":
        raise Forbidden("An API key cannot end its owner's sessions; revoke the key instead.")
    await authentication.logout_everywhere(
        session, caller_of(request, principal), user_id=principal.user_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=documented_security,
    responses=REFUSED,
)
async def change_password(
    body: PasswordChangeBody, request: Request, session: SessionDep, principal: AuthenticatedDep
) -> Response:
    """Needs the current password; every other session of yours ends."""
    if principal.kind != "user":
        raise Forbidden("An API key cannot change its owner's password.")
    await authentication.change_password(
        session,
        caller_of(request, principal),
        ChangePassword(
            user_id=principal.user_id,
            session_id=principal.session_id,
            current_password=body.current_password,
            new_password=body.new_password,
        ),
        passwords=request.app.state.passwords,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut, dependencies=documented_security, responses=REFUSED)
async def me(session: SessionDep, principal: AuthenticatedDep) -> MeOut:
    user = await users.get_user(session, principal.user_id)
    return MeOut(
        **UserOut.of(user).model_dump(),
        via=principal.kind,
        session_id=principal.session_id,
        api_key_id=principal.key_id,
        scopes=sorted(principal.scopes) if principal.scopes is not None else None,
    )
