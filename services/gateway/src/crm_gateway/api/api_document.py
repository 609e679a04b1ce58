"""``GET /api/openapi.json``: the combined API document, and ``GET /api/docs`` to browse it.

Each service's document is fetched from its ``/openapi.json`` when asked for, and reused for
``CRM_OPENAPI_CACHE_SECONDS``; a service that does not answer is left out (and said to be), not
remembered as missing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from crm_gateway.api.proxy import base_url
from crm_gateway.api.security_headers import DOCS_PATH, OPENAPI_PATH, docs_page
from crm_gateway.domain.api_document import combine
from crm_gateway.domain.routes import SERVICES
from crm_gateway.settings import GatewaySettings

FETCH_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["documentation"])


class ServiceDocuments:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    async def get(
        self, client: httpx.AsyncClient, settings: GatewaySettings, service: str
    ) -> dict[str, Any] | None:
        now = time.monotonic()
        cached = self._cache.get(service)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            response = await client.get(
                base_url(settings, service) + "/openapi.json", timeout=FETCH_TIMEOUT_SECONDS
            )
            document = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            document = None
        if not isinstance(document, dict):
            return None
        self._cache[service] = (now, document)
        return document


@router.get(OPENAPI_PATH, include_in_schema=False)
async def api_document(request: Request) -> JSONResponse:
    app = request.app
    settings: GatewaySettings = app.state.settings
    documents: ServiceDocuments | None = getattr(app.state, "service_documents", None)
    if documents is None:
        documents = app.state.service_documents = ServiceDocuments(settings.openapi_cache_seconds)
    client: httpx.AsyncClient = app.state.upstream_client
    fetched = await asyncio.gather(*(documents.get(client, settings, s) for s in SERVICES))
    return JSONResponse(combine(app.openapi(), dict(zip(SERVICES, fetched, strict=True))))


@router.get(DOCS_PATH, include_in_schema=False)
async def api_docs() -> HTMLResponse:
    return HTMLResponse(docs_page())
