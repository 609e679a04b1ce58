"""Routes every service exposes: health, readiness, metrics, and the administration of what
failed on the event path (parked events, outbox rows the broker has not confirmed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from crm_platform.events.parking import list_parked, replay_parked
from crm_platform.events.relay import list_pending, retry_now
from crm_platform.http.dependencies import RuntimeDep
from crm_platform.http.problems import problem_response
from crm_platform.http.security import require_roles
from crm_platform.identity import SYSTEM_ROLE
from crm_platform.metrics import REGISTRY

health_router = APIRouter(tags=["operations"])


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.readiness()
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ok", "checks": checks})
    failing = ", ".join(f"{name} {state}" for name, state in checks.items() if state != "ok")
    return problem_response(503, "not-ready", f"Not ready: {failing}.", checks=checks)


@health_router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class ParkedEventOut(BaseModel):
    message_id: str
    event_type: str | None
    attempts: int
    error: str | None
    parked_at: str | None
    body: dict[str, Any] | str


class ReplayRequest(BaseModel):
    message_ids: list[str] | None = None


class ReplayResult(BaseModel):
    replayed: list[str]
    failed: dict[str, str] = {}  # message id → why it stays parked


class PendingOutboxRowOut(BaseModel):
    id: uuid.UUID
    type: str
    created_at: datetime
    attempts: int
    last_error: str | None
    next_attempt_after: datetime | None


class OutboxRetryRequest(BaseModel):
    ids: list[uuid.UUID] | None = None  # None: every failing row


class OutboxRetryResult(BaseModel):
    rescheduled: int


admin_router = APIRouter(
    prefix="/v1/admin", tags=["operations"], dependencies=[require_roles("admin", SYSTEM_ROLE)]
)


@admin_router.get("/parked-events", response_model=list[ParkedEventOut])
async def get_parked_events(
    runtime: RuntimeDep, limit: int = Query(default=100, ge=1, le=1000)
) -> list[ParkedEventOut]:
    parked = await list_parked(
        runtime.settings.amqp_url, runtime.settings.service_name, limit=limit
    )
    return [ParkedEventOut(**vars(p)) for p in parked]


@admin_router.post("/parked-events/replay", response_model=ReplayResult)
async def post_replay(runtime: RuntimeDep, request: ReplayRequest) -> ReplayResult:
    ids = set(request.message_ids) if request.message_ids is not None else None
    outcome = await replay_parked(
        runtime.settings.amqp_url, runtime.settings.service_name, message_ids=ids
    )
    return ReplayResult(replayed=outcome.replayed, failed=outcome.failed)


@admin_router.get("/outbox", response_model=list[PendingOutboxRowOut])
async def get_outbox(
    runtime: RuntimeDep,
    state: Literal["failing", "pending"] = Query(
        default="failing", description="failing: rows with a failed attempt; pending: all"
    ),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[PendingOutboxRowOut]:
    """Events committed but not yet confirmed by the broker, oldest first."""
    rows = await list_pending(runtime.relay_engine, failing_only=state == "failing", limit=limit)
    return [PendingOutboxRowOut(**vars(row)) for row in rows]


@admin_router.post("/outbox/retry", response_model=OutboxRetryResult)
async def post_outbox_retry(runtime: RuntimeDep, request: OutboxRetryRequest) -> OutboxRetryResult:
    """End the back-off of failing rows (all, or ``ids``): the next sweep publishes them."""
    return OutboxRetryResult(rescheduled=await retry_now(runtime.relay_engine, request.ids))
