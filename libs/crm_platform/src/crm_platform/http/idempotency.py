"""The HTTP side of ``Idempotency-Key``: reading the header, answering a replay."""

from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from crm_platform.idempotency import IdempotencyClaim, StoredResponse

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
