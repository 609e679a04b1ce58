"""The route table: which service answers which public path, and who may use it.

``/api/v1/<area>...`` → ``<service>/v1/<area>...`` for business areas, and
``/api/v1/admin/<service>...`` → ``<service>/v1/admin...`` for each service's administration of
its event path. Each route says which roles may read (GET, HEAD) and which may write (every
other method), and which API-key scope a partner's key needs: ``<scope>:read`` for reads,
``<scope>:write`` for writes, or one scope for every method (``webhooks:manage``).

The gateway's check is coarse (per area and per read/write); the owning service applies the
record-level rules from the internal token (a rep sees only own customers, an approval needs a
manager). ``docs/gateway-routes.md`` shows this table as a matrix of roles by endpoints, and a test
keeps the two the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_gateway.domain.principals import Principal
from crm_gateway.domain.roles import (
    ADMIN,
    ROLES,
    SALES_MANAGER,
    SALES_REP,
    SERVICE_AGENT,
    SERVICE_SUPERVISOR,
    VIEWER,
)

READ_METHODS = frozenset({"GET", "HEAD"})

ANONYMOUS = Principal(kind="user", user_id="anonymous", roles=frozenset(), name="anonymous")
"""Who a public route's call (a survey answered from its link) reaches the service as: no
roles, so nothing but what the service guards by other means (the survey's token)."""

_ALL = frozenset(ROLES)
_SALES = frozenset({ADMIN, SALES_MANAGER, SALES_REP})
_SERVICE = frozenset({ADMIN, SERVICE_SUPERVISOR, SERVICE_AGENT})
# Roles that see every record of their domain. A webhook subscription receives events about
# every customer, which would get round a rep's own-customers rule, so reps have none.
_SEES_ALL = _ALL - {SALES_REP}


@dataclass(frozen=True)
class Route:
    """One public prefix, the service behind it and who may use it."""

    area: str  # names the route in docs, metrics and the OpenAPI document
    service: str  # which service answers: its URL setting is ``<service>_url``
    public_prefix: str
    service_prefix: str
    read_roles: frozenset[str] = frozenset()
    write_roles: frozenset[str] = frozenset()
    scope: str | None = None  # API keys need ``<scope>:read`` / ``<scope>:write``
    manage_scope: str | None = None  # ...or this one scope for every method
    public: bool = False  # no sign-in (the survey a customer answers from a link)

    def service_path(self, public_path: str) -> str | None:
        """Where ``public_path`` goes on the service; None if it is not under this prefix
        (whole segments only: ``/api/v1/customersX`` is not)."""
        rest = public_path.removeprefix(self.public_prefix)
        if rest == public_path or rest[:1] not in ("", "/"):
            return None
        return self.service_prefix + rest

    def public_path(self, service_path: str) -> str | None:
        """The public path of a path the service serves; None if this route does not reach it."""
        rest = service_path.removeprefix(self.service_prefix)
        if rest == service_path or rest[:1] not in ("", "/"):
            return None
        return self.public_prefix + rest

    def roles_for(self, method: str) -> frozenset[str]:
        return self.read_roles if method.upper() in READ_METHODS else self.write_roles

    def scope_for(self, method: str) -> str | None:
        """The API-key scope a call with ``method`` needs; None if any key may."""
        if self.manage_scope:
            return self.manage_scope
        if self.scope is None:
            return None
        return f"{self.scope}:{'read' if method.upper() in READ_METHODS else 'write'}"

    def refusal(self, principal: Principal | None, method: str) -> str | None:
        """Why ``principal`` may not call this route with ``method``; None if it may.

        ``principal`` is None only for public routes (the caller did not sign in)."""
        if self.public:
            return None
        if principal is None:
            return "Sign in first."
        kind = "read" if method.upper() in READ_METHODS else "change"
        if not principal.roles & self.roles_for(method):
            return f"Your role may not {kind} {self.public_prefix.removeprefix('/api/v1/')}."
        scope = self.scope_for(method)
        if scope is not None and not principal.has_scope(scope):
            return f"This API key lacks the scope {scope}."
        return None


def _area(
    area: str,
    service: str,
    *,
    read: frozenset[str],
    write: frozenset[str],
    scope: str | None = None,
    manage_scope: str | None = None,
) -> Route:
    return Route(
        area,
        service,
        f"/api/v1/{area}",
        f"/v1/{area}",
        read_roles=read,
        write_roles=write,
        scope=scope,
        manage_scope=manage_scope,
    )


BUSINESS_ROUTES: tuple[Route, ...] = (
    # customers: records, contacts, imports, export, transfer, evaluations, review
    _area("customers", "customers", read=_ALL, write=_SALES, scope="customers"),
    _area("industries", "customers", read=_ALL, write=frozenset({ADMIN}), scope="customers"),
    _area("tags", "customers", read=_ALL, write=frozenset({ADMIN}), scope="customers"),
    _area("change-requests", "customers", read=_ALL, write=_SALES, scope="customers"),
    _area("grading", "customers", read=_ALL, write=frozenset({ADMIN}), scope="customers"),
    _area("meta", "customers", read=_ALL, write=frozenset(), scope="meta"),  # codes and labels
    # engagement: a rep's own customers' follow-ups and opportunities; managers all of them
    _area("follow-ups", "engagement", read=_SALES | {VIEWER}, write=_SALES, scope="follow-ups"),
    _area("action-items", "engagement", read=_SALES | {VIEWER}, write=_SALES, scope="follow-ups"),
    _area(
        "opportunities",
        "engagement",
        read=_SALES | {VIEWER},
        write=_SALES,
        scope="opportunities",
    ),
    _area("engagement", "engagement", read=_SALES | {VIEWER}, write=_SALES, scope="follow-ups"),
    _area(
        "analytics",
        "engagement",
        read=frozenset({ADMIN, SALES_MANAGER, SERVICE_SUPERVISOR, VIEWER}),
        write=frozenset({ADMIN, SALES_MANAGER, SERVICE_SUPERVISOR}),
        scope="analytics",
    ),
    # service desk: service staff work all tickets; sales staff open and follow their customers'
    _area("tickets", "service-desk", read=_ALL, write=_ALL - {VIEWER}, scope="tickets"),
    _area("kb", "service-desk", read=_ALL, write=_SERVICE, scope="kb"),
    # teams, agents, calendars, SLA targets, callbacks and reports; supervisors configure
    # (the service checks which writes need a supervisor), sales managers and viewers read
    _area(
        "service-desk",
        "service-desk",
        read=_SERVICE | {SALES_MANAGER, VIEWER},
        write=_SERVICE,
        scope="service-desk",
    ),
    Route("surveys", "service-desk", "/api/v1/surveys", "/v1/surveys", public=True),
    # notifier: each person's own inbox; partners' webhook subscriptions and deliveries
    _area("notifications", "notifier", read=_ALL, write=_ALL, scope="notifications"),
    _area("webhooks", "notifier", read=_SEES_ALL, write=_SEES_ALL, manage_scope="webhooks:manage"),
    # the templates of each kind and locale: admins edit, the managers who run the service read
    _area(
        "notification-templates",
        "notifier",
        read=frozenset({ADMIN, SALES_MANAGER, SERVICE_SUPERVISOR}),
        write=frozenset({ADMIN}),
        scope="notifications",
    ),
    # partners' own queues on the bus and their broker users: admins only (a key needs admin)
    _area(
        "partner-queues",
        "notifier",
        read=frozenset({ADMIN}),
        write=frozenset({ADMIN}),
        scope="admin",
    ),
)
# Each service's administration of its event path (parked events, unconfirmed outbox rows):
# ``/api/v1/admin/<service>/...`` → ``<service>/v1/admin/...``; the service requires the
# admin (or system) role too.
ADMIN_ROUTES: tuple[Route, ...] = tuple(
    Route(
        f"admin/{service}",
        service,
        f"/api/v1/admin/{service}",
        "/v1/admin",
        read_roles=frozenset({ADMIN}),
        write_roles=frozenset({ADMIN}),
        scope="admin",
    )
    for service in ("customers", "engagement", "service-desk", "notifier")
)
ROUTES: tuple[Route, ...] = BUSINESS_ROUTES + ADMIN_ROUTES
# Every scope a partner's API key may carry: the ones some route asks for, and nothing else.
SCOPES: frozenset[str] = frozenset(
    {f"{route.scope}:{access}" for route in ROUTES if route.scope for access in ("read", "write")}
    | {route.manage_scope for route in ROUTES if route.manage_scope}
)


def unknown_scopes(scopes: list[str] | tuple[str, ...] | set[str]) -> list[str]:
    return sorted(set(scopes) - SCOPES)


SERVICES: tuple[str, ...] = ("customers", "engagement", "service-desk", "notifier")
# Paths every service serves that are not part of the public API.
OPERATIONAL_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def route_of(public_path: str) -> Route | None:
    """The route a public path goes through (the longest prefix wins)."""
    found = [route for route in ROUTES if route.service_path(public_path) is not None]
    return max(found, key=lambda route: len(route.public_prefix), default=None)


def public_path_of(service: str, service_path: str) -> str | None:
    """The public path of ``service_path`` on ``service``, through its business routes;
    None for operational and administration paths and for paths no route reaches."""
    if service_path in OPERATIONAL_PATHS:
        return None
    for route in BUSINESS_ROUTES:
        if route.service == service:
            public = route.public_path(service_path)
            if public is not None:
                return public
    return None


def admin_public_path_of(service: str, service_path: str) -> str | None:
    """The public path of one of ``service``'s administration paths (``/v1/admin...``)."""
    for route in ADMIN_ROUTES:
        if route.service == service:
            return route.public_path(service_path)
    return None


def access_matrix() -> str:
    """The route table as a Markdown table of roles by endpoints (docs/gateway-routes.md holds
    it; a test keeps the two the same). R: may read, W: may change, -: refused (403)."""
    header = "| public path | service | " + " | ".join(ROLES) + " | API-key scope |"
    lines = [header, "|" + "---|" * (len(ROLES) + 3)]
    for route in ROUTES:
        if route.public:
            cells = ["public"] * len(ROLES)
            scope = "none (no sign-in)"
        else:
            cells = [
                ("R" if role in route.read_roles else "")
                + ("W" if role in route.write_roles else "")
                or "-"
                for role in ROLES
            ]
            scope = (
                f"`{route.manage_scope}`"
                if route.manage_scope
                else f"`{route.scope}:read` / `{route.scope}:write`"
                if route.scope
                else "any key"
            )
        path = f"`{route.public_prefix}/…`"
        lines.append(f"| {path} | {route.service} | " + " | ".join(cells) + f" | {scope} |")
    return "\n".join(lines) + "\n"
