"""The route table: which service answers which public path, and where it is reached.
Pure functions, no network."""

import pytest

from crm_gateway.api.proxy import _base_url
from crm_gateway.domain.routes import ADMIN_UPSTREAMS, BUSINESS_UPSTREAMS, UPSTREAMS
from crm_gateway.settings import GatewaySettings

CUSTOMERS = next(upstream for upstream in UPSTREAMS if upstream.name == "customers")
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


@pytest.mark.parametrize("upstream", BUSINESS_UPSTREAMS, ids=lambda upstream: upstream.name)
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
    [upstream] = [u for u in ADMIN_UPSTREAMS if u.service_path(public) is not None]
    assert (upstream.name, upstream.service_path(public)) == (service, internal)


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=lambda upstream: upstream.name)
def test_every_upstream_is_reached_through_its_own_url_setting(upstream) -> None:
    """A route to a service with no URL setting would fail on every call, not at startup."""
    field = upstream.name.replace("-", "_") + "_url"
    settings = GatewaySettings(**{field: "http://10.1.2.3:9000/"})
    assert _base_url(settings, upstream) == "http://10.1.2.3:9000"  # no ``//v1`` from a slash
