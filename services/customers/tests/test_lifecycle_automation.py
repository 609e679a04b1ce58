"""Lifecycle automation (SPEC §1): engagement's events, delivered through the real broker to the
customers app's consumer, move customers between prospect, intent and won — once per event."""

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from crm_customers.domain.lifecycle_automation import (
    lifecycle_after_followup,
    lifecycle_after_won_opportunity,
)
from crm_platform.events import CloudEvent
from crm_platform.metrics import REGISTRY
from crm_platform.testing import (
    create_vhost,
    delete_vhost,
    event_publisher,
    fetch,
    run_id,
    wait_until,
)

from .conftest import outbox_events
from .factories import create_customer

AUTOMATION = "system:customers-automation"


@pytest.fixture(scope="module")
def amqp_url() -> Iterator[str]:
    """A vhost of this module's own: its ``customers.events`` queue has no other consumer in
    the run, so no other customers app (on another database) can take these events."""
    name = f"crm-test-automation-{run_id()}"
    url = create_vhost(name)
    yield url
    delete_vhost(name)


@pytest.fixture
async def app(client):
    """The customers app with its consumer bound and consuming (events are not lost)."""
    consumer = client.app.state.runtime.consumer
    assert consumer is not None, "the customers app must consume engagement's events"
    await asyncio.wait_for(consumer.wait_ready(), timeout=15)
    return client


def _followup(customer_id: str, feedback: str) -> CloudEvent:
    followup_id = str(uuid.uuid4())
    return CloudEvent.new(
        service="engagement",
        routing_key="followup.logged",
        subject=followup_id,
        data={
            "id": followup_id,
            "customer_id": customer_id,
            "feedback": feedback,
            "follower_id": "rep-1",
            "occurred_on": "2026-11-23",
            "method": "phone",  # fields customers does not read are ignored
        },
        actor="rep-1",
    )


def _won(customer_id: str) -> CloudEvent:
    opportunity_id = str(uuid.uuid4())
    return CloudEvent.new(
        service="engagement",
        routing_key="opportunity.won",
        subject=opportunity_id,
        data={
            "id": opportunity_id,
            "customer_id": customer_id,
            "actual_amount": "600000.00",
            "contract_number": "HT-2026-001",
        },
        actor="rep-1",
    )


async def _deliver(settings, event: CloudEvent, *, times: int = 1) -> None:
    """Publish ``event`` as engagement's relay does (``times`` copies, as a broker may deliver
    it) and wait until the consumer committed its transaction (the inbox row is written in it)."""
    async with event_publisher(settings.amqp_url, settings.events_exchange) as publish:
        for _ in range(times):
            await publish(event)

    async def in_inbox() -> bool:
        rows = await fetch(
            settings.database_url, "SELECT 1 FROM inbox_message WHERE id = $1", event.id
        )
        return bool(rows)

    await wait_until(in_inbox, timeout=15, message=f"{event.type} {event.id} to be handled")


def _consumed(event_type: str, outcome: str) -> float:
    labels = {"type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("crm_events_consumed_total", labels) or 0.0


async def _lifecycle_changes(client, customer_id: str) -> list[dict]:
    events = await outbox_events(client, "customer.lifecycle_changed")
    return [e for e in events if e["subject"] == customer_id]


async def _current(client, customer_id: str) -> dict:
    response = await client.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_positive_followup_delivered_twice_makes_a_prospect_intent_once(
    app, settings
) -> None:
    customer = await create_customer(app, lifecycle="prospect")
    event = _followup(customer["id"], "positive")
    duplicates_before = _consumed("followup.logged", "duplicate")

    async def second_delivery_seen() -> bool:
        return _consumed("followup.logged", "duplicate") > duplicates_before

    await _deliver(settings, event, times=2)
    await wait_until(second_delivery_seen, timeout=15, message="the duplicate delivery")

    current = await _current(app, customer["id"])
    assert current["lifecycle"] == "intent"
    assert current["version"] == customer["version"] + 1
    [changed] = await _lifecycle_changes(app, customer["id"])
    assert changed["actor"] == AUTOMATION
    assert changed["causationid"] == str(event.id)
    assert changed["correlationid"] == str(event.id)
    assert changed["data"]["previous_lifecycle"] == "prospect"
    assert changed["data"]["lifecycle"] == "intent"
    assert changed["data"]["reason"] == "followup.logged"
    assert changed["data"]["cause_event_id"] == str(event.id)
    assert changed["data"]["customer"]["version"] == current["version"]
    updates = [
        e for e in await outbox_events(app, "customer.updated") if e["subject"] == customer["id"]
    ]
    assert [u["data"]["lifecycle"] for u in updates] == ["intent"]


@pytest.mark.parametrize("feedback", ["neutral", "negative", "enthusiastic"])
async def test_feedback_other_than_positive_changes_nothing(app, settings, feedback) -> None:
    customer = await create_customer(app, lifecycle="prospect")
    event = _followup(customer["id"], feedback)

    await _deliver(settings, event)

    current = await _current(app, customer["id"])
    assert (current["lifecycle"], current["version"]) == ("prospect", customer["version"])
    assert await _lifecycle_changes(app, customer["id"]) == []


@pytest.mark.parametrize("lifecycle", ["intent", "won", "lost"])
async def test_positive_feedback_moves_only_prospects(app, settings, lifecycle) -> None:
    customer = await create_customer(app, lifecycle=lifecycle)
    event = _followup(customer["id"], "positive")

    await _deliver(settings, event)

    current = await _current(app, customer["id"])
    assert (current["lifecycle"], current["version"]) == (lifecycle, customer["version"])
    assert await _lifecycle_changes(app, customer["id"]) == []


@pytest.mark.parametrize("lifecycle", ["prospect", "intent", "lost"])
async def test_won_opportunity_makes_the_customer_won(app, settings, lifecycle) -> None:
    customer = await create_customer(app, lifecycle=lifecycle)
    event = _won(customer["id"])

    await _deliver(settings, event)

    current = await _current(app, customer["id"])
    assert (current["lifecycle"], current["version"]) == ("won", customer["version"] + 1)
    [changed] = await _lifecycle_changes(app, customer["id"])
    assert changed["data"]["previous_lifecycle"] == lifecycle
    assert changed["data"]["reason"] == "opportunity.won"
    assert changed["data"]["cause_event_id"] == str(event.id)
    assert changed["actor"] == AUTOMATION


async def test_won_opportunity_on_a_won_customer_changes_nothing(app, settings) -> None:
    customer = await create_customer(app, lifecycle="won")
    event = _won(customer["id"])

    await _deliver(settings, event)

    current = await _current(app, customer["id"])
    assert (current["lifecycle"], current["version"]) == ("won", customer["version"])
    assert await _lifecycle_changes(app, customer["id"]) == []


async def test_manual_lifecycle_change_still_works_after_automation(app, settings) -> None:
    customer = await create_customer(app, lifecycle="prospect")
    event = _followup(customer["id"], "positive")
    await _deliver(settings, event)
    automated = await _current(app, customer["id"])
    assert automated["lifecycle"] == "intent"

    response = await app.patch(
        f"/v1/customers/{customer['id']}",
        json={"lifecycle": "lost", "version": automated["version"]},
    )

    assert response.status_code == 200, response.text
    assert response.json()["lifecycle"] == "lost"
    changes = await _lifecycle_changes(app, customer["id"])
    assert [(c["data"]["lifecycle"], c["data"]["reason"]) for c in changes] == [
        ("intent", "followup.logged"),
        ("lost", "manual"),
    ]
    assert changes[1]["actor"] == "u-admin"


async def test_event_for_an_unknown_customer_is_dropped_not_retried(app, settings) -> None:
    retried_before = _consumed("opportunity.won", "retried")
    event = _won(str(uuid.uuid4()))

    await _deliver(settings, event)  # committed on the first attempt: never retried or parked

    assert _consumed("opportunity.won", "retried") == retried_before
    assert await outbox_events(app, "customer.lifecycle_changed") == []


async def test_event_for_a_merged_customer_moves_the_customer_it_went_into(app, settings) -> None:
    merged = await create_customer(app, lifecycle="prospect")
    survivor = await create_customer(app, lifecycle="prospect")
    await fetch(
        settings.database_url,
        "UPDATE customer SET merged_into = $1 WHERE id = $2",
        uuid.UUID(survivor["id"]),
        uuid.UUID(merged["id"]),
    )
    event = _followup(merged["id"], "positive")

    await _deliver(settings, event)

    assert (await _current(app, survivor["id"]))["lifecycle"] == "intent"
    assert (await _current(app, merged["id"]))["lifecycle"] == "prospect"


def test_rules() -> None:
    assert lifecycle_after_followup("prospect", "positive") == "intent"
    assert lifecycle_after_followup("prospect", "neutral") is None
    assert lifecycle_after_followup("lost", "positive") is None
    assert lifecycle_after_won_opportunity("prospect") == "won"
    assert lifecycle_after_won_opportunity("lost") == "won"
    assert lifecycle_after_won_opportunity("won") is None
