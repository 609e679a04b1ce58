"""``Idempotency-Key`` on creates: the same key and body give the first response again; the
same key with another body is refused. The record is written in the create's own transaction,
so a key is never remembered for a create that rolled back, and never forgotten for one that
committed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Column
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.db import UtcDateTime
from crm_platform.errors import BadRequest, Conflict, InvalidInput
from crm_platform.integrity import is_unique_violation

T = TypeVar("T")
MAX_KEY_LENGTH = 200


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"

    subject: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=MAX_KEY_LENGTH)
    fingerprint: str = Field(max_length=64)
    status_code: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class IdempotencyKeyReused(InvalidInput):
    slug = "idempotency-key-reused"


@dataclass(frozen=True)
class IdempotencyClaim:
    """One caller's key for one request body."""

    subject: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, *, subject: str, key: str, method: str, path: str, body: Any) -> IdempotencyClaim:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise BadRequest(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                slug="invalid-idempotency-key",
            )
        canonical = json.dumps(
            {"method": method, "path": path, "body": body}, sort_keys=True, default=str
        )
        return cls(subject, key, hashlib.sha256(canonical.encode()).hexdigest())


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


async def claim_key(session: AsyncSession, claim: IdempotencyClaim) -> StoredResponse | None:
    """Inside the create's transaction: the stored response when the key was used before,
    else reserve the key. A concurrent request with the same key blocks on the reservation
    until this transaction ends, then receives what it stored."""
    stored = await find_stored_response(session, claim)
    if stored is not None:
        return stored
    reservation = IdempotencyRecord(
        subject=claim.subject,
        key=claim.key,
        fingerprint=claim.fingerprint,
        status_code=0,
        body={},
        created_at=datetime.now(UTC),
    )
    try:
        async with session.begin_nested():  # only the reservation rolls back on a clash
            session.add(reservation)
            await session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc, "idempotency_record", "subject", "key"):
            raise
        stored = await find_stored_response(session, claim)
        if stored is None:  # the other request rolled back after all
            raise Conflict(
                "A request with this Idempotency-Key is in progress; retry shortly.",
                slug="idempotency-key-in-progress",
            ) from None
        return stored
    return None


async def complete_claim(
    session: AsyncSession, claim: IdempotencyClaim, status_code: int, body: dict[str, Any]
) -> None:
    """Store the response of a reserved key, in the same transaction as the create."""
    record = await session.get(IdempotencyRecord, (claim.subject, claim.key))
    if record is None:
        raise RuntimeError("complete_claim without claim_key")
    record.status_code = status_code
    record.body = body
    session.add(record)


async def find_stored_response(
    session: AsyncSession, claim: IdempotencyClaim
) -> StoredResponse | None:
    record = await session.get(IdempotencyRecord, (claim.subject, claim.key))
    if record is None or record.status_code == 0:
        return None
    if record.fingerprint != claim.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request; use a new key."
        )
    return StoredResponse(record.status_code, record.body)


async def run_once(
    session: AsyncSession,
    claim: IdempotencyClaim | None,
    use_case: Callable[[], Awaitable[T]],
    *,
    status_code: int,
    render: Callable[[T], dict[str, Any]],
) -> T | StoredResponse:
    """Run ``use_case`` once per claim, in the caller's transaction: the first request with
    a key reserves it, runs, and stores its rendered answer before the commit; a repeat gets
    that answer back (``StoredResponse``) without running anything. Without a claim, it just
    runs. The use case knows nothing of keys (eShop's ``IdentifiedCommandHandler``)."""
    if claim is None:
        return await use_case()
    stored = await claim_key(session, claim)
    if stored is not None:
        return stored
    result = await use_case()
    await complete_claim(session, claim, status_code, render(result))
    return result
