"""Generated requests against every operation of the notifier API (today the operations
every service has: health, readiness, metrics, parked events and outbox): none may answer 5xx."""

from crm_notifier.main import create_app
from crm_notifier.settings import Settings
from crm_platform.testing import bearer, running_app
from crm_platform.testing_fuzz import fuzz_openapi

from .conftest import INTERNAL_TOKEN_SECRET


async def test_no_generated_request_gets_a_server_error(settings: Settings) -> None:
    app = create_app(settings)
    async with running_app(app, "http://notifier"):
        report = await fuzz_openapi(
            app,
            headers=bearer(INTERNAL_TOKEN_SECRET, "admin", subject="u-admin"),
            max_examples=50,
        )
    print(report.summary())
    assert len(report.operations) >= 7
    assert report.errors == [], report.summary()
