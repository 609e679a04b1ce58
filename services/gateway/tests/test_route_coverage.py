"""Route coverage (contract): every path a service serves, health, metrics and its event
administration aside, is reachable through the gateway's route table; its event
administration is reachable under ``/api/v1/admin/<service>``. Each service's OpenAPI
document comes from its own app factory, in-process (the skeletons are checked too)."""

import pytest

from crm_gateway.domain.routes import (
    OPERATIONAL_PATHS,
    admin_public_path_of,
    public_path_of,
    route_of,
)

SERVICES = {
    "customers": "crm_customers.main",
    "engagement": "crm_engagement.main",
    "service-desk": "crm_service_desk.main",
    "notifier": "crm_notifier.main",
}


def service_paths(service: str) -> list[str]:
    module = __import__(SERVICES[service], fromlist=["create_app"])
    return list(module.create_app().openapi()["paths"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_path_a_service_serves_is_reachable_through_the_gateway(service: str) -> None:
    unreachable = []
    for path in service_paths(service):
        if path in OPERATIONAL_PATHS:
            continue
        if path.startswith("/v1/admin"):
            public = admin_public_path_of(service, path)
        else:
            public = public_path_of(service, path)
        route = route_of(public) if public else None
        if route is None or route.service != service or route.service_path(public) != path:
            unreachable.append(path)
    assert unreachable == [], f"{service} serves paths the gateway does not route: {unreachable}"
