"""The route table: which service answers which public path, and where it is reached.
Pure functions, no network."""

import pytest

from crm_gateway.api.proxy import base_url
from crm_gateway.domain.routes import ADMIN_ROUTES, BUSINESS_ROUTES, ROUTES, route_of
from crm_gateway.settings import GatewaySettings

CUSTOMERS = next(route for route in ROUTES if route.area == "customers")
CUSTOMER_ID = "0b0e6a52-5d2c-4a57-9d1c-8f9e0e3c1a77"


@pytest.mark.parametrize(
    ("public", "internal"),
    [
        ("/api/v1/customers", "/v1/customers"),
        ("/api/v1/customers/", "/v1/customers/"),
        (f"/api/v1/customers/{CUSTOMER_ID}/contacts", f"/v1/customers/{CUSTOMER_ID}/contacts"),
        ("/api/v1/customers/imports", "/v1/customers/imports"),
        # Only the leading prefix is rewritten, never the same text further on.
        ("/api/v1/customers/api/v1/customers", "/v1/customers/api/v1/customers"),
    ],
)
def test_customer_paths_map_onto_the_customers_service(public: str, internal: str) -> None:
    assert CUSTOMERS.service_path(public) == internal


@pytest.mark.parametrize(
    "public", ["/api/v1/customersX", "/api/v1/%63ustomers", "/api/v1/tickets", "/v1/customers"]
)
def test_paths_outside_the_prefix_map_nowhere(public: str) -> None:
    assert CUSTOMERS.service_path(public) is None


@pytest.mark.parametrize("upstream", BUSINESS_ROUTES, ids=lambda route: route.area)
def test_every_public_prefix_is_the_service_prefix_under_api(upstream) -> None:
    """``/api/v1/<area>...`` → ``<service>/v1/<area>...``, as clients are told."""
    assert upstream.public_prefix == "/api" + upstream.service_prefix


@pytest.mark.parametrize(
    ("public", "service", "internal"),
    [
        ("/api/v1/admin/customers/outbox", "customers", "/v1/admin/outbox"),
        ("/api/v1/admin/engagement/parked-events", "engagement", "/v1/admin/parked-events"),
        ("/api/v1/admin/service-desk/outbox/retry", "service-desk", "/v1/admin/outbox/retry"),
        (
            "/api/v1/admin/notifier/parked-events/replay",
            "notifier",
            "/v1/admin/parked-events/replay",
        ),
    ],
)
def test_each_services_event_administration_is_under_admin(
    public: str, service: str, internal: str
) -> None:
    [upstream] = [u for u in ADMIN_ROUTES if u.service_path(public) is not None]
    assert (upstream.service, upstream.service_path(public)) == (service, internal)


@pytest.mark.parametrize("upstream", ROUTES, ids=lambda route: route.area)
def test_every_upstream_is_reached_through_its_own_url_setting(upstream) -> None:
    """A route to a service with no URL setting would fail on every call, not at startup."""
    field = upstream.service.replace("-", "_") + "_url"
    settings = GatewaySettings(**{field: "http://10.1.2.3:9000/"})
    # no ``//v1`` from a slash
    assert base_url(settings, upstream.service) == "http://10.1.2.3:9000"


@pytest.mark.parametrize(
    ("public", "area"),
    [
        ("/api/v1/customers/x/contacts", "customers"),
        ("/api/v1/industries", "industries"),
        ("/api/v1/tags/7", "tags"),
        ("/api/v1/change-requests/1/approve", "change-requests"),
        ("/api/v1/grading/policy", "grading"),
        ("/api/v1/meta/enums", "meta"),
        ("/api/v1/follow-ups", "follow-ups"),
        ("/api/v1/action-items/1", "action-items"),
        ("/api/v1/opportunities/1/stage", "opportunities"),
        ("/api/v1/engagement/overdue", "engagement"),
        ("/api/v1/analytics/funnel", "analytics"),
        ("/api/v1/tickets/1/assign", "tickets"),
        ("/api/v1/kb/articles", "kb"),
        ("/api/v1/surveys/tok-123", "surveys"),
        ("/api/v1/notifications", "notifications"),
        ("/api/v1/webhooks/1/deliveries", "webhooks"),
        ("/api/v1/admin/notifier/outbox", "admin/notifier"),
    ],
)
def test_every_area_of_the_resource_map_has_a_route(public: str, area: str) -> None:
    route = route_of(public)
    assert route is not None and route.area == area
