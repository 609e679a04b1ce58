"""The roles a person holds (SPEC §5). What each role may use is the route table's
(``domain/routes.py``), which also derives the scopes a partner's API key may carry."""

from __future__ import annotations

ADMIN = "admin"
SALES_MANAGER = "sales_manager"
SALES_REP = "sales_rep"
SERVICE_SUPERVISOR = "service_supervisor"
SERVICE_AGENT = "service_agent"
VIEWER = "viewer"
ROLES: tuple[str, ...] = (
    ADMIN,
    SALES_MANAGER,
    SALES_REP,
    SERVICE_SUPERVISOR,
    SERVICE_AGENT,
    VIEWER,
)


def unknown_roles(roles: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    return sorted(set(roles) - set(ROLES))
