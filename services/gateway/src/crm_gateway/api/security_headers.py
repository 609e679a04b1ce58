"""Headers on every gateway response that tell browsers to be careful with it.

The API answers JSON: it may not be framed, sniffed, or carry the page's address elsewhere.
The web console (every other path) may load its own script, style and images and call this
origin, nothing else.
The API document's page (``/api/docs``, Swagger UI) loads its script and style from the CDN
FastAPI points it at, and runs one inline script, allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/openapi.json"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
SWAGGER_FAVICON = "https://fastapi.tiangolo.com"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# The web console: its own script and style only (Element Plus sets inline style attributes;
# ECharts draws on canvas and exports as data: URLs), calls to this origin only.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
API_PREFIXES = ("/api/", "/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json")


def is_api_path(path: str) -> bool:
    """The API's (JSON, problem details), not the web console's: the one rule for both the
    headers a response gets and whether an unknown path is a console page."""
    return path == "/api" or path.startswith(API_PREFIXES)


DOCS_PAGES = {DOCS_PATH: (OPENAPI_PATH, "CRM API"), "/docs": ("/openapi.json", "CRM gateway")}


def docs_page(path: str = DOCS_PATH) -> bytes:
    """The Swagger UI page at ``path`` (``/docs`` is the gateway's own, FastAPI's default)."""
    openapi_url, title = DOCS_PAGES[path]
    return bytes(get_swagger_ui_html(openapi_url=openapi_url, title=title).body)


def docs_csp(*pages: bytes) -> str:
    """What the docs page needs: its inline scripts (by hash), the CDN's script and style,
    the API document from here."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for page in pages
        for script in re.findall(rb"<script>(.*?)</script>", page, re.S)
    )
    return (
        f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; "
        f"style-src {SWAGGER_CDN} 'unsafe-inline'; img-src {SWAGGER_FAVICON} {SWAGGER_CDN} data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts_seconds: int = 0) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts_seconds:
            common.append((b"strict-transport-security", f"max-age={hsts_seconds}".encode()))
        self._api = [*common, (b"content-security-policy", API_CSP.encode())]
        csp = docs_csp(*(docs_page(path) for path in DOCS_PAGES)).encode()
        self._docs = [*common, (b"content-security-policy", csp)]
        self._console = [*common, (b"content-security-policy", CONSOLE_CSP.encode())]

    def _headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        if path in DOCS_PAGES:
            return self._docs
        return self._api if is_api_path(path) else self._console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self._headers_for(scope.get("path", ""))
        names = {name for name, _ in ours}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                message = {**message, "headers": [*headers, *ours]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
