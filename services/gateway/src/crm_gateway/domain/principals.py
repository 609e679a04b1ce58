"""Who a public request comes from once the gateway has authenticated it.

A person signs in and acts with their roles. A partner's API key belongs to a user (an
integration account an admin creates) and acts as that user *narrowed* by the key's scopes:
the services see the owner's id and roles in the internal token, so their record-level rules
(a rep sees only own customers) apply to a key exactly as to its owner, and the gateway refuses
any route the key's scopes do not cover. A disabled owner disables every key of theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PrincipalKind = Literal["user", "api_key"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    user_id: str  # the subject the services see (owner ids of records are user ids)
    roles: frozenset[str]
    name: str
    # API keys only: e.g. {"customers:read", "tickets:write"}; None for a signed-in person,
    # whose roles alone decide.
    scopes: frozenset[str] | None = None
    key_id: str | None = None  # the API key used, for audit and per-key rate limits
    session_id: str | None = None  # the refresh-token family of a person's sign-in
    team: str | None = field(default=None)

    @property
    def rate_limit_key(self) -> str:
        """One bucket per person, one per API key (a key never spends its owner's budget)."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes
