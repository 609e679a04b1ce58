"""The customer 360 view: which calls make it, and how their answers become one document.

The gateway asks the services in parallel, each call with the caller's own internal token, so
every service applies its record-level rules (a rep asking for another rep's customer gets the
customers service's 404). A section whose service is down, slow, failing, not built yet (404 on
a list route: the route itself is missing) or closed to the caller is an error marker
``{"error": {"status": ..., "detail": ...}}``; the rest of the view is still returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

RECENT_FOLLOW_UPS = 10


@dataclass(frozen=True)
class Section:
    name: str
    area: str  # the route (domain.routes) the call goes through: its access rules apply
    service: str
    path: str  # the service's path; ``{id}`` is the customer's id
    query: tuple[tuple[str, str], ...] = ()

    def target(self, customer_id: str) -> tuple[str, list[tuple[str, str]]]:
        """The service path and query for one customer (the id quoted as one segment)."""
        quoted = quote(customer_id, safe="")
        path = self.path.replace("{id}", quoted)
        return path, [(k, v.replace("{id}", customer_id)) for k, v in self.query]


CUSTOMER = Section("customer", "customers", "customers", "/v1/customers/{id}")
SECTIONS: tuple[Section, ...] = (
    Section("contacts", "customers", "customers", "/v1/customers/{id}/contacts"),
    Section(
        "recent_follow_ups",
        "follow-ups",
        "engagement",
        "/v1/follow-ups",
        (("customer_id", "{id}"), ("page_size", str(RECENT_FOLLOW_UPS))),
    ),
    Section(
        "open_opportunities",
        "opportunities",
        "engagement",
        "/v1/opportunities",
        (("customer_id", "{id}"), ("open_only", "true")),
    ),
    Section(
        "open_tickets",
        "tickets",
        "service-desk",
        "/v1/tickets",
        (("customer_id", "{id}"), ("status", "open")),
    ),
)


def error_marker(status: int, detail: str) -> dict[str, dict[str, object]]:
    return {"error": {"status": status, "detail": detail}}


def section_detail(service: str, status: int, problem_detail: str | None) -> str:
    """Why a section is missing, in words for the client."""
    if status == 404:
        return f"The {service} service does not serve this yet."
    if status in (401, 403):
        return problem_detail or "You may not see this section."
    if status == 504:
        return f"The {service} service did not answer in time."
    if status >= 500:
        return problem_detail or f"The {service} service is unavailable."
    return problem_detail or f"The {service} service refused the request ({status})."
