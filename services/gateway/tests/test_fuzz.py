"""Generated requests against the gateway's own operations (health, readiness, metrics,
parked events, outbox); what it forwards is fuzzed by each service's own tests."""

from crm_platform.testing import bearer
from crm_platform.testing_fuzz import fuzz_openapi

from .conftest import INTERNAL_TOKEN_SECRET


async def test_no_generated_request_gets_a_server_error(start_gateway) -> None:
    async with start_gateway() as client:
        report = await fuzz_openapi(
            client.app,
            headers=bearer(INTERNAL_TOKEN_SECRET, "admin", subject="u-admin"),
            max_examples=50,
            include=lambda method, path: not path.startswith("/api/"),
        )
    print(report.summary())
    assert len(report.operations) >= 7
    assert report.errors == [], report.summary()


async def test_a_service_that_consumes_nothing_has_nothing_parked(start_gateway) -> None:
    """The fuzz found this: with no parking queue, listing and replaying answered 500."""
    headers = bearer(INTERNAL_TOKEN_SECRET, "admin", subject="u-admin")
    async with start_gateway() as client:
        listed = await client.get("/v1/admin/parked-events", headers=headers)
        assert (listed.status_code, listed.json()) == (200, [])
        replayed = await client.post("/v1/admin/parked-events/replay", json={}, headers=headers)
        assert (replayed.status_code, replayed.json()) == (200, {"replayed": [], "failed": {}})
