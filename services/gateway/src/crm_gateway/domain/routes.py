"""Which service answers which public path: ``/api/v1/<area>...`` → ``<service>/v1/<area>...``."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Upstream:
    name: str
    public_prefix: str
    service_prefix: str

    def service_path(self, public_path: str) -> str:
        return self.service_prefix + public_path.removeprefix(self.public_prefix)


UPSTREAMS: tuple[Upstream, ...] = (Upstream("customers", "/api/v1/customers", "/v1/customers"),)
