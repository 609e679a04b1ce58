"""Forwarding to a real upstream over HTTP: what reaches the service (the gateway's own token,
the request as the client sent it, minus hop-by-hop headers), pooled connections, and the
problems a client gets when the service is down (503) or too slow (504).

The end-to-end tests (``tests/test_walking_skeleton.py``) already show forwarding to the real
customers service, its 503 when killed and its 404 for ``/api/v1/customersXYZ``."""

import asyncio
import time
import uuid

import httpx
import jwt

from crm_platform.identity import verify_internal_token
from crm_platform.testing import free_port

from .conftest import ADMIN, INTERNAL_TOKEN_SECRET, Received, api_key, person

CUSTOMER_ID = str(uuid.uuid4())


def _is_problem(response: httpx.Response, status: int, slug: str, path: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:crm:problem:{slug}"
    assert (body["status"], body["instance"]) == (status, path)
    assert "customers" in body["detail"]
    return body


async def test_the_service_gets_the_principals_token_never_the_clients(start_gateway) -> None:
    tokens = []
    async with start_gateway(internal_token_ttl_seconds=45) as gateway:
        for _ in range(2):
            response = await gateway.get(
                "/api/v1/customers", headers={"authorization": "Bearer forged-by-the-client"}
            )
            [authorization] = Received.of(response).header("authorization")
            scheme, _, token = authorization.partition(" ")
            assert scheme == "Bearer"
            tokens.append(token)

    for token in tokens:
        identity = verify_internal_token(INTERNAL_TOKEN_SECRET, token)
        assert (identity.subject, identity.roles, identity.name) == (
            ADMIN.user_id,
            ADMIN.roles,
            ADMIN.name,
        )
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 45  # the configured lifetime
    # Reused for most of its lifetime, so the gateway signs nothing per call and the services
    # verify it once, not on every call.
    assert tokens[0] == tokens[1]


async def test_method_path_query_and_body_pass_through(gateway) -> None:
    path = f"/api/v1/customers/{CUSTOMER_ID}/contacts"
    query = [("tag", "重点"), ("tag", "vip"), ("q", "上海 星辰&co"), ("empty", "")]
    body = "联系人 ✓".encode() + bytes(range(256))  # not even valid UTF-8
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        sent = body if method in ("POST", "PUT", "PATCH") else b""
        response = await gateway.request(
            method,
            path,
            params=query,
            content=sent,
            headers={"content-type": "application/octet-stream"},
        )
        received = Received.of(response)
        assert received.method == method
        assert received.path == f"/v1/customers/{CUSTOMER_ID}/contacts"
        assert received.query == query
        assert received.body == sent, method
        if sent:
            assert received.header("content-type") == ["application/octet-stream"]
            assert received.header("content-length") == [str(len(sent))]


async def test_end_to_end_headers_pass_and_hop_by_hop_headers_stop(gateway, echo_upstream) -> None:
    end_to_end = {
        "if-match": '"3"',
        "idempotency-key": "create-7f3a",
        "accept-language": "zh-CN",
        "x-custom": "kept",
    }
    hop_by_hop = {
        "proxy-authorization": "Basic dTpw",
        "keep-alive": "timeout=5",
        "te": "trailers",
        "upgrade": "h2c",
        "connection": "upgrade",
    }
    response = await gateway.get("/api/v1/customers", headers={**end_to_end, **hop_by_hop})
    received = Received.of(response)
    for name, value in end_to_end.items():
        assert received.header(name) == [value], name
    for name in ("proxy-authorization", "keep-alive", "te", "upgrade"):
        assert received.header(name) == [], name
    assert "upgrade" not in received.header("connection")
    assert received.header("host") == [echo_upstream.removeprefix("http://")]

    # And on the way back: the service's own headers pass, its hop-by-hop ones stop.
    assert response.headers["x-echo"] == "yes"
    assert "keep-alive" not in response.headers
    assert "proxy-authenticate" not in response.headers


async def test_the_path_and_query_go_on_as_the_client_encoded_them(gateway) -> None:
    response = await gateway.get("/api/v1/customers/a%2Fb/%E4%B8%AD?q=a%26b%3Dc&tag=%E9%87%8D")
    received = Received.of(response)
    assert received.raw_path == "/v1/customers/a%2Fb/%E4%B8%AD"  # still one segment "a/b"
    assert received.raw_query == "q=a%26b%3Dc&tag=%E9%87%8D"
    assert received.query == [("q", "a&b=c"), ("tag", "重")]


async def test_a_percent_encoded_public_prefix_is_not_forwarded(gateway) -> None:
    response = await gateway.get("/api/v1/%63ustomers")  # decodes to /api/v1/customers
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_headers_the_connection_header_names_stop_at_the_gateway(gateway) -> None:
    response = await gateway.get(
        "/api/v1/customers",
        headers={"connection": "keep-alive, X-Client-Hop", "x-client-hop": "secret", "x-kept": "1"},
    )
    received = Received.of(response)
    assert received.header("x-client-hop") == []
    assert received.header("x-kept") == ["1"]
    # On the way back too, while repeated and non-ASCII headers pass unchanged.
    assert "x-upstream-hop" not in response.headers
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert response.headers.raw.count((b"x-upstream-name", "星辰".encode())) == 1


async def test_non_ascii_header_values_reach_the_service_unchanged(gateway) -> None:
    value = "上海 星辰".encode()
    response = await gateway.get("/api/v1/customers", headers=[(b"x-display-name", value)])
    [received] = Received.of(response).header("x-display-name")
    assert received.encode("latin-1") == value


async def test_the_service_sees_the_request_id_the_client_gets_back(gateway) -> None:
    given = await gateway.get(
        "/api/v1/customers", headers={"x-request-id": "req-1", "x-correlation-id": "flow-1"}
    )
    seen = Received.of(given)
    assert (seen.header("x-request-id"), seen.header("x-correlation-id")) == (["req-1"], ["flow-1"])
    assert given.headers.get_list("x-request-id") == ["req-1"]  # not the service's own id

    made_up = await gateway.get("/api/v1/customers")
    [request_id] = made_up.headers.get_list("x-request-id")
    seen = Received.of(made_up)
    assert seen.header("x-request-id") == [request_id]
    assert seen.header("x-correlation-id") == [request_id]  # a new flow starts here


async def test_connections_to_the_service_are_pooled_and_bounded(start_gateway) -> None:
    async with start_gateway(upstream_max_connections=2) as gateway:
        one_after_another = [
            Received.of(await gateway.get("/api/v1/customers")).client_port for _ in range(3)
        ]
        assert len(set(one_after_another)) == 1  # one kept-alive connection reused

        at_once = await asyncio.gather(
            *(gateway.get("/api/v1/customers", params={"delay": "0.1"}) for _ in range(6))
        )
        ports = {Received.of(response).client_port for response in at_once}
        assert len(ports) <= 2  # the rest waited for a pooled connection


async def test_a_service_that_is_down_is_a_503_problem_to_retry_shortly(start_gateway) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # accepts the connection, then drops it without an answer

    dropping = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    dropping_port = dropping.sockets[0].getsockname()[1]
    try:
        for url in (f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{dropping_port}"):
            async with start_gateway(customers_url=url) as gateway:
                path = f"/api/v1/customers/{CUSTOMER_ID}"
                response = await gateway.post(path, json={"name": "x"})
                _is_problem(response, 503, "upstream-unavailable", path)
                assert response.headers["retry-after"] == "5", url
    finally:
        dropping.close()
        await dropping.wait_closed()


async def test_no_free_connection_in_time_is_a_503_busy_problem_not_a_timeout(
    start_gateway,
) -> None:
    async with start_gateway(
        upstream_max_connections=1, upstream_pool_timeout_seconds=0.2, upstream_timeout_seconds=5
    ) as gateway:
        slow = gateway.get("/api/v1/customers", params={"delay": "1.0"})
        queued = asyncio.create_task(slow)
        await asyncio.sleep(0.1)  # the slow call holds the only connection
        refused = await gateway.get("/api/v1/customers")
        served = await queued
    body = _is_problem(refused, 503, "gateway-busy", "/api/v1/customers")
    assert "no free connection" in body["detail"]
    assert refused.headers["retry-after"] == "1"
    assert Received.of(served).path == "/v1/customers"  # the call holding it was not cut


async def test_a_service_that_answers_too_late_is_a_504_problem(start_gateway) -> None:
    async with start_gateway(upstream_timeout_seconds=0.3) as gateway:
        started = time.monotonic()
        response = await gateway.get("/api/v1/customers", params={"delay": "1.5"})
        waited = time.monotonic() - started
    _is_problem(response, 504, "upstream-timeout", "/api/v1/customers")
    assert waited < 1.2  # the gateway gave up; it did not wait for the answer


async def test_imports_may_take_longer_than_other_calls(start_gateway) -> None:
    async with start_gateway(upstream_timeout_seconds=0.3, import_timeout_seconds=5) as gateway:
        slow = {"delay": "0.6"}
        imported = await gateway.post("/api/v1/customers/imports", params=slow, content=b"csv")
        listed = await gateway.get("/api/v1/customers", params=slow)
    assert Received.of(imported).path == "/v1/customers/imports"
    _is_problem(listed, 504, "upstream-timeout", "/api/v1/customers")


async def test_forwarded_calls_are_measured_by_route_template_not_by_path(gateway) -> None:
    await gateway.get(f"/api/v1/customers/{CUSTOMER_ID}")
    metrics = (await gateway.get("/metrics")).text
    assert (
        'http_requests_total{method="GET",route="/api/v1/customers/{rest:path}",'
        'service="gateway",status="200"}'
    ) in metrics
    assert CUSTOMER_ID not in metrics  # one series per route, not one per customer


async def test_each_principal_reaches_the_service_as_itself(start_gateway) -> None:
    current = {"principal": person("sales_rep", user_id="u-rep-1")}
    async with start_gateway(principal=lambda: current["principal"]) as gateway:
        seen = []
        for principal in (
            person("sales_rep", user_id="u-rep-1"),
            person("sales_rep", user_id="u-rep-2"),
            api_key("viewer", "customers:read"),
        ):
            current["principal"] = principal
            [authorization] = Received.of(await gateway.get("/api/v1/customers")).header(
                "authorization"
            )
            identity = verify_internal_token(INTERNAL_TOKEN_SECRET, authorization.split()[1])
            seen.append((identity.subject, identity.roles))
    assert seen == [
        ("u-rep-1", {"sales_rep"}),
        ("u-rep-2", {"sales_rep"}),
        ("u-viewer-integration", {"viewer"}),  # a key acts as its owner
    ]


async def test_identity_the_client_sent_never_reaches_the_service(gateway) -> None:
    sent = {
        "x-api-key": "crm_k_secret",
        "cookie": "refresh=abc",
        "x-user-id": "u-admin",
        "x-user-roles": "admin",
        "x-internal-token": "forged",
        "x-crm-identity": "forged",
        "x-forwarded-user": "admin",
        "x-kept": "yes",
    }
    received = Received.of(await gateway.get("/api/v1/customers", headers=sent))
    for name in sent:
        if name != "x-kept":
            assert received.header(name) == [], name
    assert received.header("x-kept") == ["yes"]


async def test_a_services_cookie_goes_to_its_client_only(gateway) -> None:
    first = await gateway.get("/api/v1/customers")
    assert first.headers.get_list("set-cookie")  # the client gets it...
    gateway.cookies.clear()
    later = Received.of(await gateway.get("/api/v1/customers"))
    assert later.header("cookie") == []  # ...and the gateway never sends it on to anyone


async def test_a_read_whose_connection_failed_is_tried_once_more_a_write_is_not(
    start_gateway,
) -> None:
    connections = []

    async def first_drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await reader.readuntil(b"\r\n\r\n")
        if len(connections) % 2 == 1:
            writer.close()  # hang up without an answer
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(first_drops, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with start_gateway(customers_url=url) as gateway:
            read = await gateway.get("/api/v1/customers")
            assert (read.status_code, read.text, len(connections)) == (200, "ok", 2)
            connections.clear()
            write = await gateway.post("/api/v1/customers", json={"name": "x"})
            assert write.status_code == 503 and len(connections) == 1
    finally:
        server.close()
        await server.wait_closed()
