"""docs/asyncapi.yaml must describe exactly what the code publishes and consumes."""

from pathlib import Path

import pytest
import yaml

from crm_customers.events import handlers as customers_consumed
from crm_customers.events import published as customers_published
from crm_customers.settings import CustomersSettings
from crm_engagement.events import published as engagement_published
from crm_engagement.events.handlers import HANDLERS as ENGAGEMENT_HANDLERS
from crm_gateway.events import handlers as gateway_consumed
from crm_gateway.events import published as gateway_published
from crm_notifier.events import published as notifier_published
from crm_notifier.events.handlers import HANDLERS as NOTIFIER_HANDLERS
from crm_platform.events.consumer import ANY_EVENT
from crm_service_desk.events import published as service_desk_published
from crm_service_desk.events.handlers import HANDLERS as SERVICE_DESK_HANDLERS

CATALOGUE = yaml.safe_load((Path(__file__).parents[1] / "docs" / "asyncapi.yaml").read_text())
PUBLISHERS = {
    "customers": customers_published.PAYLOADS,
    "engagement": engagement_published.PAYLOADS,
    "gateway": gateway_published.PAYLOADS,
    "service-desk": service_desk_published.PAYLOADS,
    "notifier": notifier_published.PAYLOADS,
}
CONSUMERS = {
    "customers": customers_consumed.build_handlers(CustomersSettings()),
    "engagement": ENGAGEMENT_HANDLERS,
    "service-desk": SERVICE_DESK_HANDLERS,
    "notifier": NOTIFIER_HANDLERS,
    "gateway": gateway_consumed.HANDLERS,
}


def _operations(action: str) -> set[tuple[str, str]]:
    found = set()
    for name, operation in CATALOGUE["operations"].items():
        if operation["action"] == action:
            service = name.split(f".{'publish' if action == 'send' else 'receive'}.")[0]
            found.add((service, operation["channel"]["$ref"].rsplit("/", 1)[1]))
    return found


def _resolve(ref: str) -> dict:
    node = CATALOGUE
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_published_type_is_catalogued_and_nothing_else() -> None:
    code = {(service, t) for service, payloads in PUBLISHERS.items() for t in payloads}
    assert _operations("send") == code
    # A channel exists for each type some service publishes or consumes (a consumed type may
    # come from a service whose publishing is not built yet), and for nothing else.
    consumed = {t for handlers in CONSUMERS.values() for t in handlers if t != ANY_EVENT}
    assert set(CATALOGUE["channels"]) == {t for _, t in code} | consumed


def test_every_consumed_type_is_catalogued_and_nothing_else() -> None:
    # The notifier's "#" handler (every event, for the partner webhooks) is not a type.
    code = {
        (service, t) for service, handlers in CONSUMERS.items() for t in handlers if t != ANY_EVENT
    }
    assert _operations("receive") == code


@pytest.mark.parametrize(
    ("event_type", "model"),
    [(t, m) for payloads in PUBLISHERS.values() for t, m in payloads.items()],
)
def test_catalogued_data_schema_matches_the_payload_model(event_type: str, model: type) -> None:
    message = CATALOGUE["components"]["messages"][event_type]
    data_ref = message["payload"]["allOf"][1]["properties"]["data"]["$ref"]
    schema = _resolve(data_ref)
    generated = model.model_json_schema()
    assert set(schema["properties"]) == set(generated["properties"])
    assert set(schema["required"]) == set(generated.get("required", []))
    assert message["payload"]["allOf"][1]["properties"]["type"]["const"] == f"crm.{event_type}"


@pytest.mark.parametrize(
    ("event_type", "reader"),
    [
        (customers_consumed.FOLLOWUP_LOGGED, customers_consumed.FollowUpLogged),
        (customers_consumed.OPPORTUNITY_WON, customers_consumed.OpportunityWon),
        (gateway_consumed.CUSTOMER_SENSITIVE_READ, gateway_consumed.SensitiveRead),
    ],
)
def test_catalogue_promises_every_field_a_consumer_requires(event_type: str, reader: type) -> None:
    message = CATALOGUE["components"]["messages"][event_type]
    schema = _resolve(message["payload"]["allOf"][1]["properties"]["data"]["$ref"])
    assert set(reader.model_json_schema()["required"]) <= set(schema["required"])
