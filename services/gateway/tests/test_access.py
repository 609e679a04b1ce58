"""Who may call what through the gateway: the route table enforced for every role and method
class (401 unsigned, 403 by role or API-key scope), the matrix in the docs, rate limits,
security headers and CORS."""

from pathlib import Path

import pytest

from crm_gateway.domain.routes import ROLES, ROUTES, access_matrix

from .conftest import ADMIN, Received, api_key, person

DOCS = Path(__file__).resolve().parents[3] / "docs" / "gateway-routes.md"


def _sample_path(route) -> str:
    return route.public_prefix + "/sample-1"


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_admits_exactly_the_roles_of_the_table(start_gateway, role) -> None:
    async with start_gateway(principal=person(role)) as gateway:
        for route in ROUTES:
            for method in ("GET", "POST"):
                response = await gateway.request(method, _sample_path(route))
                allowed = route.public or role in route.roles_for(method)
                if allowed:
                    assert Received.of(response).path.startswith(route.service_prefix)
                else:
                    assert response.status_code == 403, (route.area, method, role)
                    assert response.headers["content-type"] == "application/problem+json"
                    assert response.json()["type"] == "urn:crm:problem:forbidden"


def test_the_documented_matrix_is_the_route_table() -> None:
    text = DOCS.read_text()
    start, end = "<!-- access-matrix:start -->\n", "<!-- access-matrix:end -->"
    documented = text[text.index(start) + len(start) : text.index(end)]
    assert documented.strip() == access_matrix().strip(), (
        "docs/gateway-routes.md is out of date; paste access_matrix() between the markers"
    )


async def test_without_a_principal_every_route_but_the_public_ones_is_401(start_gateway) -> None:
    async with start_gateway(principal=None) as gateway:
        for route in ROUTES:
            response = await gateway.get(_sample_path(route))
            if route.public:
                received = Received.of(response)  # forwarded as nobody: no roles at all
                assert received.path == "/v1/surveys/sample-1"
            else:
                assert response.status_code == 401, route.area
                assert response.json()["type"] == "urn:crm:problem:unauthorized"
        assert (await gateway.get("/api/v1/customers/c-1/360")).status_code == 401


async def test_an_api_key_reaches_only_what_its_scopes_cover(start_gateway) -> None:
    key = api_key("admin", "customers:read", "webhooks:manage")
    async with start_gateway(principal=key) as gateway:
        assert Received.of(await gateway.get("/api/v1/customers"))
        assert Received.of(await gateway.get("/api/v1/tags"))  # the customers service's area
        refused = await gateway.post("/api/v1/customers", json={"name": "x"})
        assert refused.status_code == 403
        assert "customers:write" in refused.json()["detail"]
        no_tickets = await gateway.post("/api/v1/tickets", json={"title": "x"})
        assert no_tickets.status_code == 403
        assert "tickets:write" in no_tickets.json()["detail"]
        assert Received.of(await gateway.post("/api/v1/webhooks", json={}))  # manage: any method
        assert Received.of(await gateway.delete("/api/v1/webhooks/1"))

    # A key's scopes never widen its owner's role: a viewer's key cannot write customers.
    async with start_gateway(principal=api_key("viewer", "customers:write")) as gateway:
        assert (await gateway.post("/api/v1/customers", json={})).status_code == 403


async def test_past_the_rate_limit_a_principal_gets_429_with_retry_after(start_gateway) -> None:
    current = {"principal": person("sales_rep")}
    async with start_gateway(
        principal=lambda: current["principal"], rate_limit="3/minute", api_key_rate_limit="2/minute"
    ) as gateway:
        for _ in range(3):
            assert (await gateway.get("/api/v1/customers")).status_code == 200
        limited = await gateway.get("/api/v1/customers")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["type"] == "urn:crm:problem:rate-limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["ratelimit-limit"] == "3"
        assert limited.headers["ratelimit-remaining"] == "0"
        assert (await gateway.get("/api/v1/customers/c-1/360")).status_code == 429

        # Another person, and the same person's API key, have budgets of their own.
        current["principal"] = person("sales_rep", user_id="u-other-rep")
        assert (await gateway.get("/api/v1/customers")).status_code == 200
        current["principal"] = api_key("sales_rep", "customers:read", key_id="k-9")
        assert [(await gateway.get("/api/v1/customers")).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]


async def test_every_response_carries_the_security_headers(start_gateway) -> None:
    async with start_gateway(hsts_seconds=31536000) as gateway:
        for response in (
            await gateway.get("/api/v1/customers"),
            await gateway.get("/api/v1/nowhere"),
            await gateway.get("/healthz"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["strict-transport-security"] == "max-age=31536000"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        docs = await gateway.get("/api/docs")
        csp = docs.headers["content-security-policy"]
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        assert "script-src https://cdn.jsdelivr.net 'sha256-" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    async with start_gateway() as gateway:  # no TLS said: no HSTS
        assert "strict-transport-security" not in (await gateway.get("/healthz")).headers


async def test_cors_is_off_unless_origins_are_configured(start_gateway) -> None:
    preflight = {
        "origin": "https://console.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with start_gateway() as gateway:
        response = await gateway.get("/api/v1/customers", headers={"origin": preflight["origin"]})
        assert "access-control-allow-origin" not in response.headers
    async with start_gateway(cors_origins="https://console.example.com") as gateway:
        allowed = await gateway.options("/api/v1/customers", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://console.example.com"
        other = await gateway.options(
            "/api/v1/customers", headers={**preflight, "origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
        got = await gateway.get("/api/v1/customers", headers={"origin": preflight["origin"]})
        assert got.headers["access-control-allow-origin"] == "https://console.example.com"


def test_roles_and_admin_principal_fixture_agree() -> None:
    assert ADMIN.roles <= set(ROLES)
