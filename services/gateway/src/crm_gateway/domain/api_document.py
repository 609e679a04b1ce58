"""One API document: the gateway's own public operations and every service's, at their public
paths (``/v1/x`` → ``/api/v1/x`` through the route table).

Only what a client can call is kept: no health, readiness, metrics or event administration
paths, no path the route table does not reach. Schemas of several services merge under their
own names; when two services mean different things by one name, the later service's schema is
renamed ``<service>__<name>`` and its ``$ref``s follow. A service that did not answer is
missing from the document, and its description says so.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from crm_gateway.domain.routes import BUSINESS_ROUTES, public_path_of

SCHEMA_REF = "#/components/schemas/"
BEARER = "bearer"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "A person's access token (from /api/v1/auth/login) or a partner's API key.",
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PUBLIC_PREFIXES = tuple(route.public_prefix for route in BUSINESS_ROUTES if route.public)


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value.removeprefix(SCHEMA_REF)
                out[key] = SCHEMA_REF + renames.get(name, name)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _renames(service: str, schemas: Mapping[str, Any], merged: Mapping[str, Any]) -> dict[str, str]:
    """The names of ``service``'s schemas that clash with different ones already merged."""
    renames: dict[str, str] = {}
    while True:  # a rename changes the refs of the schemas using it: they may clash in turn
        changed = False
        for name, schema in schemas.items():
            if name in renames or name not in merged:
                continue
            if _rewrite_refs(schema, renames) != merged[name]:
                renames[name] = f"{service}__{name}"
                changed = True
        if not changed:
            return renames


def combine(
    own: Mapping[str, Any],
    services: Mapping[str, Mapping[str, Any] | None],
    *,
    title: str = "CRM API",
    version: str = "1",
) -> dict[str, Any]:
    """The combined document from the gateway's own (``own``) and each service's (None for
    one that did not answer)."""
    own_components = own.get("components", {})
    schemas: dict[str, Any] = copy.deepcopy(own_components.get("schemas", {}))
    security_schemes: dict[str, Any] = copy.deepcopy(own_components.get("securitySchemes", {}))
    security_schemes.setdefault(BEARER, BEARER_SCHEME)
    paths: dict[str, Any] = {
        path: copy.deepcopy(item)
        for path, item in own.get("paths", {}).items()
        if path.startswith("/api/") and path not in ("/api/openapi.json", "/api/docs")
    }
    operation_ids = {
        op.get("operationId")
        for item in paths.values()
        for method, op in item.items()
        if method in HTTP_METHODS
    }
    missing = sorted(service for service, doc in services.items() if doc is None)
    for service, doc in services.items():
        if doc is None:
            continue
        theirs = doc.get("components", {}).get("schemas", {})
        renames = _renames(service, theirs, schemas)
        for name, schema in theirs.items():
            schemas.setdefault(renames.get(name, name), _rewrite_refs(schema, renames))
        for service_path, item in doc.get("paths", {}).items():
            public = public_path_of(service, service_path)
            if public is None or public in paths:
                continue
            item = _rewrite_refs(item, renames)
            for method, op in item.items():
                if method not in HTTP_METHODS:
                    continue
                if op.get("operationId") in operation_ids:
                    op["operationId"] = f"{service}__{op['operationId']}"
                operation_ids.add(op.get("operationId"))
                op.setdefault("tags", [service])
                if public.startswith(PUBLIC_PREFIXES):
                    op["security"] = []
                elif "security" in op:  # the service's internal token is ours to send
                    op["security"] = [{BEARER: []}]
            paths[public] = item
    description = (
        "Every public operation of the CRM, through the gateway. Sign in at "
        "`POST /api/v1/auth/login`, then send `Authorization: Bearer <access token>` "
        "(partners: their API key)."
    )
    if missing:
        description += (
            f"\n\n**Incomplete:** the {', '.join(missing)} service(s) did not answer; their "
            "operations are missing from this document. Reload it shortly."
        )
    return {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
        "x-crm-missing-services": missing,
    }
