"""Settings base every service extends: environment variables with the ``CRM_`` prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_INTERNAL_TOKEN_SECRET = "dev-internal-token-secret-change-me-0123456789"
DEV_JWT_SECRET = "dev-jwt-secret-change-me-0123456789abcdef"
DEV_DATA_KEY = "ZGV2LWRhdGEta2V5LWNoYW5nZS1tZS0wMTIzNDU2Nzg="  # base64 of 32 bytes

_SECRET_DEFAULTS = {
    "internal_token_secret": DEV_INTERNAL_TOKEN_SECRET,
    "jwt_secret": DEV_JWT_SECRET,
    "data_key": DEV_DATA_KEY,
}


class PlatformSettings(BaseSettings):
    """Settings shared by all services.

    Each service subclasses it, sets ``service_name`` and declares its own
    ``database_url`` read from ``CRM_<SERVICE>_DATABASE_URL`` (see ``database_url_field``).
    """

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", populate_by_name=True)

    service_name: str = "crm"
    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/crm.db"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "crm.events"

    internal_token_secret: str = DEV_INTERNAL_TOKEN_SECRET
    internal_token_ttl_seconds: int = Field(default=60, ge=5, le=3600)
    jwt_secret: str = DEV_JWT_SECRET
    data_key: str = DEV_DATA_KEY
    timezone: str = "Asia/Shanghai"

    log_level: str = "INFO"
    max_body_bytes: int = Field(default=1_048_576, ge=1024)

    # Connections each process keeps for requests and handlers; no overflow: beyond it, wait.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    outbox_sweep_seconds: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1)
    # How long the relay, handed a commit's rows, waits for the commits of the same moment
    # (docs/architecture.md: 15 ms gave a lower p99 lag than 5 or 25 at 200 events/s).
    outbox_batch_window_ms: float = Field(default=15.0, ge=0, le=1000)
    # The sweep leaves younger rows (database clock) to the relay they were handed to (a
    # replica's, maybe); the hand-off publishes a row only within 40% of it, and waits at
    # most as long again for the confirm, so it is done with the row before a sweep may be.
    outbox_handoff_grace_seconds: float = Field(default=10.0, ge=1)
    # Rows waiting for the hand-off at most; past it they are left to the sweep.
    outbox_handoff_capacity: int = Field(default=10_000, ge=1)
    # A row the broker refused waits 2^attempts s before the next try, at most this long.
    outbox_max_backoff_seconds: float = Field(default=300.0, ge=1)
    outbox_retention_hours: float = Field(default=168.0, gt=0)
    # Longer than any event may wait in a queue before it is handled (a consumer down for a
    # long time): a redelivery after its inbox row was pruned would apply again.
    inbox_retention_hours: float = Field(default=720.0, gt=0)
    # Unacked deliveries the broker sends ahead; the workers take them in batches.
    consumer_prefetch: int = Field(default=64, ge=1)
    consumer_batch_size: int = Field(default=32, ge=1)
    # How long a batch's first event waits for others to join it (0: take what is there).
    consumer_batch_window_ms: float = Field(default=5.0, ge=0, le=1000)
    # Batches handled at once, one database connection each. One by default: while its batch
    # commits, the next one gathers, so batches grow with load (measured: about 10% less CPU
    # per event than two workers, lower lag). More suit handlers that wait on other systems.
    consumer_workers: int = Field(default=1, ge=1)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_delays_ms: list[int] = Field(default=[1000, 5000, 30000, 120000], min_length=1)
    # A handler (or a batch of them) running longer has failed: retried, then parked.
    consumer_handler_timeout_seconds: float = Field(default=30.0, gt=0)
    # Deliveries of one message without a settle (crash loops, requeues) before the broker
    # dead-letters it to parking; RabbitMQ 4.0 would otherwise drop it after 20.
    consumer_delivery_limit: int = Field(default=20, ge=1)
    broker_reconnect_seconds: float = Field(default=1.0, gt=0)
    relay_enabled: bool = True
    consumer_enabled: bool = True

    def database_session_settings(self) -> dict[str, str]:
        """PostgreSQL settings each database connection of the service starts with."""
        return {}

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> PlatformSettings:
        if self.environment != "production":
            return self
        unsafe = [
            f"CRM_{name.upper()}"
            for name, default in _SECRET_DEFAULTS.items()
            if getattr(self, name) == default or len(getattr(self, name)) < 32
        ]
        if unsafe:
            raise ValueError(
                "production mode refuses default or short (<32 chars) secrets; set "
                + ", ".join(unsafe)
            )
        return self


def database_url_field(service: str, default_file: str) -> str:
    """A ``database_url`` field read from ``CRM_<SERVICE>_DATABASE_URL``."""
    env_name = f"CRM_{service.upper().replace('-', '_')}_DATABASE_URL"
    return Field(default=f"sqlite+aiosqlite:///./var/{default_file}", validation_alias=env_name)
