"""Partners' API keys: an admin creates one for a user (an integration account) with
scopes and an optional expiry; the key is shown once, then only its prefix. Revoking takes
effect on the next request (every request reads the key's row)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_gateway.db import repository
from crm_gateway.db.models import ApiKey
from crm_gateway.domain import audit, tokens
from crm_gateway.domain.audit import Caller
from crm_gateway.domain.commands import CreateApiKey
from crm_gateway.domain.routes import unknown_scopes
from crm_gateway.domain.users import load_user
from crm_platform.errors import InvalidField, NotFound


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # the whole key, shown this once


async def create_key(session: AsyncSession, caller: Caller, command: CreateApiKey) -> NewKey:
    scopes = sorted(set(command.scopes))
    if not scopes:
        raise InvalidField("scopes", "must name at least one scope")
    unknown = unknown_scopes(scopes)
    if unknown:
        raise InvalidField("scopes", f"has unknown scopes: {', '.join(unknown)}")
    now = datetime.now(UTC)
    if command.expires_at is not None and command.expires_at <= now:
        raise InvalidField("expires_at", "must be in the future")
    owner = await load_user(session, command.owner_id)
    if not owner.active:
        raise InvalidField("owner_id", "is a disabled user")
    secret, prefix = tokens.new_api_key()
    key = ApiKey(
        prefix=prefix,
        secret_hash=tokens.digest(secret),
        name=command.name,
        owner_id=owner.id,
        scopes=scopes,
        created_by=caller.user_id or audit.SYSTEM_ACTOR,
        created_at=now,
        expires_at=command.expires_at,
    )
    session.add(key)
    await session.flush()
    await audit.record(
        session,
        caller,
        audit.API_KEY_CREATED,
        target=f"api_key:{key.id}",
        details={"owner_id": owner.id, "scopes": scopes, "prefix": prefix},
    )
    return NewKey(key, secret)


async def get_key(session: AsyncSession, key_id: str) -> ApiKey:
    key = await repository.api_key_by_id(session, key_id)
    if key is None:
        raise NotFound(f"No API key {key_id}.", slug="api-key-not-found")
    return key


async def list_keys(
    session: AsyncSession, *, owner_id: str | None, cursor: str | None, limit: int
) -> tuple[Sequence[ApiKey], str | None]:
    rows = await repository.list_api_keys(session, owner_id=owner_id, after=cursor, limit=limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


async def revoke_key(session: AsyncSession, caller: Caller, key_id: str) -> ApiKey:
    """Revoked from this commit on; revoking again changes nothing."""
    key = await get_key(session, key_id)
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
        await audit.record(session, caller, audit.API_KEY_REVOKED, target=f"api_key:{key.id}")
    return key
