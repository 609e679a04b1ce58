"""ASGI middleware: request id, access metrics by route template, body size limit."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_platform.http.problems import PROBLEM_CONTENT_TYPE, TYPE_BASE
from crm_platform.logging import correlation_id_var, request_id_var
from crm_platform.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("crm.http")

REQUEST_ID_HEADER = "x-request-id"
CORRELATION_ID_HEADER = "x-correlation-id"


class _BodyTooLarge(HTTPException):
    """Raised while the app reads the body; FastAPI lets HTTPException through unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The body exceeds the limit of {limit} bytes.")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


async def _send_problem(
    send: Send, status: int, slug: str, title: str, detail: str, request_id: str
) -> None:
    body = json.dumps(
        {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (REQUEST_ID_HEADER.encode(), request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Gives every request an id, limits its body, and records metrics and an access log."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int,
        body_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        # Exact paths allowed another limit (uploads); every other path has max_body_bytes.
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, REQUEST_ID_HEADER.encode()) or uuid.uuid4().hex
        correlation_id = _header(scope, CORRELATION_ID_HEADER.encode()) or request_id
        request_token = request_id_var.set(request_id)
        correlation_token = correlation_id_var.set(correlation_id)
        method = scope["method"]
        started = time.perf_counter()
        status_holder = {"status": 500}
        limit = self.body_limits.get(scope.get("path", ""), self.max_body_bytes)

        declared = _header(scope, b"content-length")
        try:
            if declared is not None and declared.isdigit() and int(declared) > limit:
                status_holder["status"] = 413
                await _send_problem(
                    send,
                    413,
                    "body-too-large",
                    "Request body too large",
                    f"The body exceeds the limit of {limit} bytes.",
                    request_id,
                )
                return

            received = 0
            response_started = False

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise _BodyTooLarge(limit)
                return message

            async def send_with_id(message: Message) -> None:
                nonlocal response_started
                if message["type"] == "http.response.start":
                    response_started = True
                    status_holder["status"] = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            try:
                await self.app(scope, limited_receive, send_with_id)
            except _BodyTooLarge:
                status_holder["status"] = 413
                if not response_started:
                    await _send_problem(
                        send,
                        413,
                        "body-too-large",
                        "Request body too large",
                        f"The body exceeds the limit of {limit} bytes.",
                        request_id,
                    )
        finally:
            route = _route_template(scope)
            elapsed = time.perf_counter() - started
            status = str(status_holder["status"])
            HTTP_REQUESTS.labels(self.service, method, route, status).inc()
            HTTP_DURATION.labels(self.service, method, route).observe(elapsed)
            if route not in ("/metrics", "/healthz", "/readyz"):
                log.info(
                    "%s %s -> %s",
                    method,
                    scope.get("path"),
                    status,
                    extra={
                        "route": route,
                        "status": int(status),
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(request_token)
            correlation_id_var.reset(correlation_token)
