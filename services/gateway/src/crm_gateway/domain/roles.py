"""The roles a person holds (SPEC §5) and the scopes a partner's API key may carry.

Scopes are ``<area>:read`` or ``<area>:write`` for each area of the public API, plus
``webhooks:manage``; this module is the one list of them (the forwarding side maps each
route to the scope it needs).
"""

from __future__ import annotations

ADMIN = "admin"
ROLES: tuple[str, ...] = (
    ADMIN,
    "sales_manager",
    "sales_rep",
    "service_supervisor",
    "service_agent",
    "viewer",
)

SCOPE_AREAS: tuple[str, ...] = (
    "customers",
    "contacts",
    "change_requests",
    "grading",
    "follow_ups",
    "action_items",
    "opportunities",
    "analytics",
    "tickets",
    "kb",
    "surveys",
    "notifications",
    "webhooks",
    "meta",
)
SCOPES: frozenset[str] = frozenset(
    {f"{area}:{access}" for area in SCOPE_AREAS for access in ("read", "write")}
    | {"webhooks:manage"}
)


def unknown_roles(roles: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    return sorted(set(roles) - set(ROLES))


def unknown_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    return sorted(set(scopes) - SCOPES)
