from pydantic import Field

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
