"""``GET /api/v1/customers/{customer_id}/360``: the customer, its contacts, recent follow-ups,
open opportunities and open tickets in one call (SPEC §5), fetched in parallel."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from crm_gateway.api.deps import authenticated
from crm_gateway.api.proxy import admit, base_url, context_headers, internal_token, unavailable
from crm_gateway.domain.customer360 import CUSTOMER, SECTIONS, Section, error_marker, section_detail
from crm_gateway.domain.principals import Principal
from crm_gateway.domain.routes import ROUTES
from crm_gateway.settings import GatewaySettings
from crm_platform.http.problems import PROBLEM_CONTENT_TYPE

router = APIRouter(tags=["customer 360"])
_ROUTE_BY_AREA = {route.area: route for route in ROUTES}
CUSTOMERS_ROUTE = _ROUTE_BY_AREA["customers"]


async def _call(
    request: Request, principal: Principal, section: Section, customer_id: str
) -> httpx.Response | httpx.TransportError:
    settings: GatewaySettings = request.app.state.settings
    client: httpx.AsyncClient = request.app.state.upstream_client
    path, query = section.target(customer_id)
    timeout = settings.customer_360_timeout_seconds
    try:
        return await client.get(
            base_url(settings, section.service) + path,
            params=query,
            headers=context_headers(internal_token(request, principal)),
            timeout=httpx.Timeout(
                timeout,
                connect=min(timeout, settings.upstream_connect_timeout_seconds),
                pool=min(timeout, settings.upstream_pool_timeout_seconds),
            ),
        )
    except httpx.TransportError as exc:
        return exc


def _problem_detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else None


def _section(section: Section, answer: httpx.Response | httpx.TransportError) -> Any:
    if isinstance(answer, httpx.TransportError):
        status = 504 if isinstance(answer, httpx.TimeoutException) else 503
        return error_marker(status, section_detail(section.service, status, None))
    if answer.is_success:
        try:
            return answer.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error_marker(502, f"The {section.service} service answered no JSON.")
    status = answer.status_code
    return error_marker(status, section_detail(section.service, status, _problem_detail(answer)))


@router.get(
    "/api/v1/customers/{customer_id}/360",
    summary="A customer with its contacts, recent follow-ups, open opportunities and open tickets",
    description="Each section is the owning service's answer, or "
    '`{"error": {"status": ..., "detail": ...}}` when that service is down, slow, not built '
    "yet or closed to you; the rest is still returned. A customer you may not see is a 404.",
    responses={
        401: {"description": "Not signed in"},
        403: {"description": "Your role or API key may not read customers"},
        404: {"description": "No such customer (or not one you may see)"},
        429: {"description": "Rate limit exceeded"},
        503: {"description": "The customers service is unavailable"},
        504: {"description": "The customers service did not answer in time"},
    },
)
async def customer_360(
    customer_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(authenticated)],
) -> Response:
    refused = await admit(request, CUSTOMERS_ROUTE, principal)
    if refused is not None:
        return refused
    allowed = [s for s in SECTIONS if _ROUTE_BY_AREA[s.area].refusal(principal, "GET") is None]
    answers = await asyncio.gather(
        *(_call(request, principal, s, customer_id) for s in (CUSTOMER, *allowed))
    )
    customer, *rest = answers
    if isinstance(customer, httpx.TransportError):
        return unavailable(CUSTOMER.service, customer, request.url.path)
    if not customer.is_success:  # 404 for a customer the caller may not see, 403, 422 ...
        status = customer.status_code
        if status >= 500:
            return unavailable(CUSTOMER.service, httpx.TransportError(""), request.url.path)
        media_type = customer.headers.get("content-type", PROBLEM_CONTENT_TYPE)
        return Response(customer.content, status_code=status, media_type=media_type)
    try:
        view: dict[str, Any] = {"customer": customer.json()}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return unavailable(CUSTOMER.service, httpx.TransportError(""), request.url.path)
    by_name = dict(zip((s.name for s in allowed), rest, strict=True))
    for section in SECTIONS:
        if section.name in by_name:
            view[section.name] = _section(section, by_name[section.name])
        else:
            refusal = _ROUTE_BY_AREA[section.area].refusal(principal, "GET")
            view[section.name] = error_marker(403, refusal or "You may not see this section.")
    return JSONResponse(view)
