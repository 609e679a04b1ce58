"""RFC 9457 problem+json: every error a client sees has a stable ``type`` and a clear ``detail``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_platform.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)
from crm_platform.failures import is_infrastructure_error
from crm_platform.integrity import Violation, refused_value, violation_of

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:crm:problem:"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


# Each kind of domain error's HTTP status; the most specific class in an error's MRO wins.
STATUS_OF_ERROR: dict[type[DomainError], int] = {
    DomainError: 400,
    BadRequest: 400,
    InvalidInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    UnsupportedMedia: 415,
    PreconditionRequired: 428,
    Unavailable: 503,
}


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[kind]
    return 400


def problem_response(
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in location)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        errors.append(
            {
                "field": _field_path(error.get("loc", ())),
                "message": error.get("msg", "invalid"),
                "code": error.get("type", "invalid"),
            }
        )
    return errors


def integrity_problem(violation: Violation, instance: str | None = None) -> JSONResponse:
    """The answer to a constraint no use case expected to fail, by the constraint's kind.

    A use case that expects one (a name taken by a concurrent create) maps it itself, by
    name (``crm_platform.integrity.is_unique_violation``); nothing here guesses a duplicate
    from an error that says something else.
    """
    columns = ", ".join(violation.columns) or violation.constraint or "a field"
    thing = violation.table or "record"
    if violation.kind == "unique":
        return problem_response(
            409,
            "duplicate-value",
            f"Another {thing} already has this {columns}.",
            instance=instance,
            errors=[
                {"field": c, "message": f"already used by another {thing}", "code": "unique"}
                for c in violation.columns
            ],
        )
    if violation.kind in ("not_null", "check"):
        message = "may not be empty" if violation.kind == "not_null" else "is not allowed here"
        return problem_response(
            422,
            "constraint-violation",
            f"The request is not valid: {columns} {message}.",
            instance=instance,
            errors=[
                {"field": c, "message": message, "code": violation.kind}
                for c in violation.columns or (violation.constraint or "request",)
            ],
        )
    if violation.kind == "foreign_key":
        return problem_response(
            409,
            "reference-conflict",
            f"The change refers to a record that does not exist, or removes one that is "
            f"still referred to ({columns}).",
            instance=instance,
        )
    return problem_response(
        409,
        "constraint-violation",
        "The change conflicts with the stored data; nothing was changed.",
        instance=instance,
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _refused(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(
            status_of(exc), exc.slug, exc.detail, instance=request.url.path, **exc.facts
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        fields = ", ".join(e["field"] for e in errors) or "request"
        return problem_response(
            422,
            "validation-error",
            f"The request is not valid: check {fields}.",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        violation = violation_of(exc)
        log.warning(
            "constraint violated on %s %s: %s %s",
            request.method,
            request.url.path,
            violation,
            exc.orig,
        )
        return integrity_problem(violation, instance=request.url.path)

    @app.exception_handler(DBAPIError)  # IntegrityError, more specific, has its own
    async def _refused_value(request: Request, exc: DBAPIError) -> JSONResponse:
        reason = refused_value(exc)
        if reason is None:  # the database's failure (503) or the code's own (500)
            return await _unexpected(request, exc)
        log.warning("value refused on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(
            422,
            "value-not-storable",
            f"The request is not valid: {reason}; nothing was changed.",
            instance=request.url.path,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = (
            exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        )
        slug = _TITLES.get(exc.status_code, "error").lower().replace(" ", "-")
        return problem_response(
            exc.status_code,
            slug,
            detail,
            instance=request.url.path,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_infrastructure_error(exc):  # nothing was applied: the transaction rolled back
            log.warning(
                "dependency unavailable on %s %s: %r", request.method, request.url.path, exc
            )
            return problem_response(
                503,
                "dependency-unavailable",
                "The service cannot reach its database or message broker just now; nothing was "
                "changed. Try again shortly.",
                instance=request.url.path,
                headers={"retry-after": "5"},
            )
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "internal-error",
            "An unexpected error occurred; it has been logged.",
            instance=request.url.path,
        )
