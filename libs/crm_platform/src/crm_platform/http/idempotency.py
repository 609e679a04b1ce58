"""The HTTP side of ``Idempotency-Key``: reading the header, answering a create once."""

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, TypeVar

from fastapi import Header, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.idempotency import IdempotencyClaim, StoredResponse, run_once

V = TypeVar("V")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        description="Repeat a create safely: the same key and body return the first response",
    ),
]


def claim_for(
    request: Request, subject: str, key: str | None, body: BaseModel
) -> IdempotencyClaim | None:
    """The caller's claim on ``key`` for this exact request, or None without a key."""
    if key is None:
        return None
    return IdempotencyClaim.of(
        subject=subject,
        key=key,
        method=request.method,
        path=request.url.path,
        body=body.model_dump(mode="json"),
    )


def replay(stored: StoredResponse) -> JSONResponse:
    return JSONResponse(
        stored.body, status_code=stored.status_code, headers={"idempotent-replay": "true"}
    )


def _no_headers(_view: object) -> Mapping[str, str]:
    return {}


async def created_once(
    session: AsyncSession,
    claim: IdempotencyClaim | None,
    create: Callable[[], Awaitable[V]],
    out: Callable[[V], BaseModel],
    *,
    headers: Callable[[V], Mapping[str, str]] = _no_headers,
) -> Response:
    """A create run once per ``Idempotency-Key`` (``run_once``, in the request's
    transaction): 201 with ``out(view)`` serialised here, once (a returned model would be
    validated again against the route's ``response_model``, which still documents the body),
    or the first call's stored answer replayed."""
    result = await run_once(
        session,
        claim,
        create,
        status_code=status.HTTP_201_CREATED,
        render=lambda view: out(view).model_dump(mode="json"),
    )
    if isinstance(result, StoredResponse):
        return replay(result)
    return Response(
        out(result).model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
        headers=dict(headers(result)),
    )
