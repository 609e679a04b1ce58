"""The notifier's HTTP edge: every ``/v1`` route (today the parked-event
administration; business routes will join it) answers only the gateway's internal token,
while health, readiness and metrics answer anyone."""

import httpx

from crm_platform.identity import SYSTEM_ROLE
from crm_platform.settings import DEV_INTERNAL_TOKEN_SECRET

from .conftest import bearer

PROTECTED = [("GET", "/v1/admin/parked-events"), ("POST", "/v1/admin/parked-events/replay")]


def _is_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_calls_without_a_valid_internal_token_are_refused(client) -> None:
    refused = {
        "missing": {},
        "garbage": {"authorization": "Bearer not-a-token"},
        "not bearer": {"authorization": "Basic dTpw"},
        "development secret": bearer(SYSTEM_ROLE, secret=DEV_INTERNAL_TOKEN_SECRET),
        "expired": bearer(SYSTEM_ROLE, ttl_seconds=-60),
    }
    for method, path in PROTECTED:
        for case, headers in refused.items():
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, case, response.text)
            _is_problem(response, 401)
        # The same calls with a role that may not operate the bus: known, but forbidden.
        _is_problem(await client.request(method, path, headers=bearer("sales_rep")), 403)

    # And with the gateway's token they go through: the refusals above were the token's.
    allowed = await client.get("/v1/admin/parked-events", headers=bearer(SYSTEM_ROLE))
    assert allowed.status_code == 200, allowed.text
    assert allowed.json() == []


async def test_health_readiness_and_metrics_answer_without_a_token(client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "consumer": "ok",  # it consumes customer.created
        "relay": "ok",
    }
    await client.get("/v1/admin/parked-events")  # refused, and counted as this service's
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert (
        'http_requests_total{method="GET",route="/v1/admin/parked-events",'
        'service="notifier",status="401"}'
    ) in metrics.text
