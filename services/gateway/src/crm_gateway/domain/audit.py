"""The audit trail: who did what to what, when and from where. Entries are written in the
transaction of what they record (a refused login's entry commits with the refusal), and
read by admins with filters, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_gateway.db import repository
from crm_gateway.db.models import AuditEntry
from crm_gateway.db.repository import AuditFilter

LOGIN = "login"
LOGIN_FAILED = "login_failed"
REFRESH_REUSE_DETECTED = "refresh_reuse_detected"
LOGOUT = "logout"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
USER_CREATED = "user_created"
USER_UPDATED = "user_updated"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"
API_KEY_CREATED = "api_key_created"
API_KEY_REVOKED = "api_key_revoked"
SENSITIVE_READ = "sensitive_read"
ACTIONS: tuple[str, ...] = (
    LOGIN,
    LOGIN_FAILED,
    REFRESH_REUSE_DETECTED,
    LOGOUT,
    PASSWORD_CHANGED,
    PASSWORD_RESET,
    USER_CREATED,
    USER_UPDATED,
    USER_DISABLED,
    USER_ENABLED,
    API_KEY_CREATED,
    API_KEY_REVOKED,
    SENSITIVE_READ,
)
SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class Caller:
    """Who asks, for the audit trail and the events: a user (maybe through one of their API
    keys), or nobody yet (a login) or the system (first start)."""

    user_id: str | None = None
    api_key_id: str | None = None
    ip: str | None = None

    @property
    def event_actor(self) -> str:
        return self.user_id or SYSTEM_ACTOR


async def record(
    session: AsyncSession,
    caller: Caller,
    action: str,
    *,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
    actor_id: str | None = None,
) -> None:
    """Add an entry to the open transaction (``actor_id`` overrides the caller's user, for
    an entry about someone who was not yet signed in)."""
    await repository.add_audit_entry(
        session,
        {
            "at": at or datetime.now(UTC),
            "actor_id": actor_id if actor_id is not None else caller.user_id,
            "api_key_id": caller.api_key_id,
            "action": action,
            "target": target,
            "ip": caller.ip,
            "details": details or {},
        },
    )


async def list_entries(
    session: AsyncSession, flt: AuditFilter, *, cursor: int | None, limit: int
) -> tuple[Sequence[AuditEntry], int | None]:
    """A page of entries and the cursor of the next page (None: no more)."""
    rows = await repository.list_audit(session, flt, before_id=cursor, limit=limit + 1)
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None
