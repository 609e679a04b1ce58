from pathlib import Path
from typing import Literal

from limits import parse
from pydantic import Field, field_validator, model_validator

from crm_platform.settings import PlatformSettings, database_url_field

# `make run` prints it; production mode refuses it (and any password the policy refuses).
DEV_ADMIN_USERNAME = "admin"
DEV_ADMIN_PASSWORD = "crm-dev-admin-2026"


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

    # People and sessions (docs/gateway.md, "Users").
    admin_username: str = Field(
        default=DEV_ADMIN_USERNAME, min_length=3, max_length=64, description="First admin"
    )
    admin_password: str = Field(
        default=DEV_ADMIN_PASSWORD,
        description="The first admin's password; read only while no user exists",
    )
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30, le=24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60, le=365 * 24 * 3600)
    # argon2id cost (argon2-cffi's defaults); a stored hash made with other values is
    # rehashed at its owner's next login.
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=65_536, ge=8, le=4_194_304)
    password_hash_parallelism: int = Field(default=4, ge=1, le=64)
    # Login throttling: failures counted per username and per client address in a moving
    # window; in-memory, so per process (docs: a shared storage for several replicas).
    login_max_failures_per_username: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)

    @model_validator(mode="after")
    def _refuse_development_identity_in_production(self) -> "GatewaySettings":
        """The default JWT secret is refused by the platform's check; a weak (not merely the
        default) admin password is refused at startup, by the domain's password policy."""
        if self.environment != "production":
            return self
        if self.admin_password == DEV_ADMIN_PASSWORD:
            raise ValueError("production mode refuses the development CRM_ADMIN_PASSWORD")
        if self.jwt_secret == self.internal_token_secret:
            raise ValueError("CRM_JWT_SECRET must differ from CRM_INTERNAL_TOKEN_SECRET")
        return self

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

    # The built web console (web/dist after `npm run build`), served at /; relative to the
    # working directory. Without an index.html there, / answers 404 and the API is unchanged.
    web_dir: Path | None = Path("web/dist")

    @field_validator("rate_limit", "api_key_rate_limit")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse(value)  # "600/minute", "10/second" ...; a ValueError names what is wrong
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]
