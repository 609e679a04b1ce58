"""Partners' API keys: created for a user with scopes (the key is in this answer only),
listed, revoked. Admins only.

No ``Idempotency-Key`` here on purpose: a replayed answer would have to be stored, and it
holds the key itself; a client that lost the answer revokes the key and makes another.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from crm_gateway.api.deps import FORGETS_IDENTITIES, AdminDep, caller_of, documented_security
from crm_gateway.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, ApiKeyPage
from crm_gateway.domain import api_keys
from crm_platform.http.dependencies import SessionDep

router = APIRouter(
    prefix="/api/v1/api-keys",
    tags=["api-keys"],
    dependencies=[FORGETS_IDENTITIES, *documented_security],
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "Not an admin (or an API key)"},
    },
)
KeyId = Annotated[str, Path(max_length=36)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_key(
    body: ApiKeyCreate, request: Request, session: SessionDep, admin: AdminDep
) -> Response:
    created = await api_keys.create_key(session, caller_of(request, admin), body.command())
    answer = ApiKeyCreated(**ApiKeyOut.of(created.key).model_dump(), key=created.secret)
    return Response(
        answer.model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers={"location": f"/api/v1/api-keys/{created.key.id}", "cache-control": "no-store"},
    )


@router.get("", response_model=ApiKeyPage)
async def list_keys(
    session: SessionDep,
    admin: AdminDep,
    owner_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Annotated[str | None, Query(max_length=36, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApiKeyPage:
    found, next_cursor = await api_keys.list_keys(
        session, owner_id=owner_id, cursor=cursor, limit=limit
    )
    return ApiKeyPage(items=[ApiKeyOut.of(k) for k in found], next_cursor=next_cursor)


@router.get("/{key_id}", response_model=ApiKeyOut)
async def get_key(key_id: KeyId, session: SessionDep, admin: AdminDep) -> ApiKeyOut:
    return ApiKeyOut.of(await api_keys.get_key(session, key_id))


@router.post("/{key_id}/revoke", response_model=ApiKeyOut)
async def revoke_key(
    key_id: KeyId, request: Request, session: SessionDep, admin: AdminDep
) -> ApiKeyOut:
    """Refused from this answer on; revoking a revoked key changes nothing."""
    return ApiKeyOut.of(await api_keys.revoke_key(session, caller_of(request, admin), key_id))
