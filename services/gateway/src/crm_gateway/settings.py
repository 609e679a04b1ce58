from typing import Literal

from limits import parse
from pydantic import Field, field_validator

from crm_platform.settings import PlatformSettings, database_url_field


class GatewaySettings(PlatformSettings):
    service_name: str = "gateway"
    database_url: str = database_url_field("gateway", "gateway.db")
    customers_url: str = "http://127.0.0.1:8001"
    engagement_url: str = "http://127.0.0.1:8002"
    service_desk_url: str = "http://127.0.0.1:8003"
    notifier_url: str = "http://127.0.0.1:8004"
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    upstream_timeout_seconds: float = Field(default=15.0, gt=0)
    # How long a call waits for a free pooled connection before it is refused as busy (503).
    upstream_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    upstream_max_connections: int = Field(default=200, ge=1)
    import_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    import_timeout_seconds: float = Field(default=120.0, gt=0)

    # What carries forwarded calls: aiohttp's connection pool behind httpx's API (measured
    # faster, docs/gateway-routes.md), or httpx's own.
    upstream_transport: Literal["aiohttp", "httpx"] = "aiohttp"
    # The customer 360 view waits this long for each section, then marks it missing.
    customer_360_timeout_seconds: float = Field(default=3.0, gt=0)
    # Requests per principal: one budget per person, one per API key (``limits`` notation).
    rate_limit: str = "600/minute"
    api_key_rate_limit: str = "1200/minute"
    # Origins a browser may call the API from (comma-separated); none by default: no CORS.
    cors_origins: str = ""
    # Strict-Transport-Security max-age; 0 sends none (set it where TLS ends in front of us).
    hsts_seconds: int = Field(default=0, ge=0)
    # How long the combined API document reuses a service's OpenAPI document.
    openapi_cache_seconds: float = Field(default=30.0, ge=0)

    @field_validator("rate_limit", "api_key_rate_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse(value)  # "600/minute", "10/second" ...; a ValueError names what is wrong
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
