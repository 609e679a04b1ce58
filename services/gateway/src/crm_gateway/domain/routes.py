"""Which service answers which public path: ``/api/v1/<area>...`` → ``<service>/v1/<area>...``."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Upstream:
    name: str
    public_prefix: str
    service_prefix: str

    def service_path(self, public_path: str) -> str | None:
        """Where ``public_path`` goes on the service; None if it is not under this prefix
        (whole segments only: ``/api/v1/customersX`` is not)."""
        rest = public_path.removeprefix(self.public_prefix)
        if rest == public_path or rest[:1] not in ("", "/"):
            return None
        return self.service_prefix + rest


BUSINESS_UPSTREAMS: tuple[Upstream, ...] = (
    Upstream("customers", "/api/v1/customers", "/v1/customers"),
)
# Each service's administration of its event path (parked events, unconfirmed outbox rows):
# ``/api/v1/admin/<service>/...`` → ``<service>/v1/admin/...``; the service requires the
# admin (or system) role.
ADMIN_UPSTREAMS: tuple[Upstream, ...] = tuple(
    Upstream(service, f"/api/v1/admin/{service}", "/v1/admin")
    for service in ("customers", "engagement", "service-desk", "notifier")
)
UPSTREAMS: tuple[Upstream, ...] = BUSINESS_UPSTREAMS + ADMIN_UPSTREAMS
