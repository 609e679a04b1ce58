"""The engagement service's HTTP edge: every ``/v1`` route (today the parked-event
administration; business routes will join it) answers only the gateway's internal token,
while health, readiness (its consumer of customer events included) and metrics answer anyone."""

from crm_platform.testing import check_internal_token_guard, check_open_edge

from .conftest import INTERNAL_TOKEN_SECRET


async def test_calls_without_a_valid_internal_token_are_refused(client) -> None:
    await check_internal_token_guard(client, INTERNAL_TOKEN_SECRET)


async def test_health_readiness_and_metrics_answer_without_a_token(client) -> None:
    await check_open_edge(client, "engagement")
