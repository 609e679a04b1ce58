"""The combined API document: the gateway's operations and every service's at public paths,
schemas merged without collisions, a service that is down left out and said to be."""

import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI

from crm_customers.main import create_app as create_customers_app
from crm_gateway.domain.api_document import combine
from crm_platform.testing import free_port


def test_clashing_schema_names_are_prefixed_and_their_refs_follow() -> None:
    def doc(path: str, title_type: str) -> dict:
        return {
            "paths": {
                path: {
                    "get": {
                        "operationId": "list_items",
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/Page"}
                                    }
                                }
                            }
                        },
                    }
                }
            },
            "components": {
                "schemas": {
                    "Page": {"properties": {"items": {"$ref": "#/components/schemas/Item"}}},
                    "Item": {"properties": {"title": {"type": title_type}}},
                    "Problem": {"properties": {"detail": {"type": "string"}}},
                }
            },
        }

    combined = combine(
        {"paths": {}},
        {
            "customers": doc("/v1/tags", "string"),
            "service-desk": doc("/v1/tickets", "integer"),
            "notifier": None,
        },
    )
    schemas = combined["components"]["schemas"]
    assert set(schemas) == {"Page", "Item", "Problem", "service-desk__Page", "service-desk__Item"}
    ticket_ref = combined["paths"]["/api/v1/tickets"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    assert ticket_ref == "#/components/schemas/service-desk__Page"
    assert schemas["service-desk__Page"]["properties"]["items"]["$ref"].endswith(
        "service-desk__Item"
    )
    assert combined["paths"]["/api/v1/tickets"]["get"]["operationId"] == "service-desk__list_items"
    assert combined["x-crm-missing-services"] == ["notifier"]
    assert "notifier" in combined["info"]["description"]


@pytest.fixture(scope="module")
def customers_docs() -> str:
    """An upstream serving the real customers service's OpenAPI document."""
    document = create_customers_app().openapi()
    app = FastAPI(openapi_url=None)

    @app.get("/openapi.json")
    async def openapi() -> dict:
        return document

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def test_the_gateway_serves_one_document_of_public_paths(
    start_gateway, customers_docs
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with start_gateway(
        principal=None,
        customers_url=customers_docs,
        engagement_url=down,
        service_desk_url=down,
        notifier_url=down,
    ) as gateway:
        response = await gateway.get("/api/openapi.json")
        docs = await gateway.get("/api/docs")
    assert response.status_code == 200  # no sign-in needed
    document = response.json()
    paths = document["paths"]
    assert "/api/v1/customers/{customer_id}" in paths
    assert "/api/v1/tags" in paths and "/api/v1/meta/enums" in paths
    assert "/api/v1/customers/{customer_id}/360" in paths  # the gateway's own
    for own in ("/api/v1/auth/login", "/api/v1/users", "/api/v1/api-keys", "/api/v1/audit"):
        assert own in paths, own  # people and partners: the gateway's own API
    assert all(path.startswith("/api/v1/") for path in paths)
    assert not any("/admin/" in path or path.endswith(("healthz", "metrics")) for path in paths)
    assert document["x-crm-missing-services"] == ["engagement", "notifier", "service-desk"]
    refs = str(paths)
    for ref in set(part.split("'")[0] for part in refs.split("#/components/schemas/")[1:]):
        assert ref in document["components"]["schemas"], ref
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
