"""The errors a use case raises when a rule refuses the operation; no web framework here.

A domain module raises ``NotFound``, ``Conflict``, ``InvalidField`` … and knows nothing of
HTTP. The HTTP edge (``crm_platform.http.problems``) maps each kind to a status and a
problem+json document; an event consumer treats any of them as the handler's own failure
(retried, then parked). ``slug`` names the rule for clients (the problem type's last segment)
and keyword arguments become facts of the document (``review_status=…``, ``errors=[…]``).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused the operation; nothing was applied."""

    slug: str = "bad-request"

    def __init__(self, detail: str, *, slug: str | None = None, **facts: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug is not None:
            self.slug = slug
        self.facts = facts


class BadRequest(DomainError):
    """The request cannot be understood as sent (a malformed header, say)."""


class InvalidInput(DomainError):
    """Well-formed, but a value breaks a rule."""

    slug = "validation-error"


class InvalidField(InvalidInput):
    """One field's value breaks a rule that needs the database (its syntax was fine)."""

    def __init__(self, field: str, message: str, *, location: str = "body") -> None:
        super().__init__(
            f"The request is not valid: {field} {message}.",
            errors=[{"field": f"{location}.{field}", "message": message, "code": "invalid"}],
        )
        self.field = field


class Unauthenticated(DomainError):
    """Who is calling is not known (no, or no valid, credentials)."""

    slug = "unauthorized"


class Forbidden(DomainError):
    slug = "forbidden"


class NotFound(DomainError):
    slug = "not-found"


class Conflict(DomainError):
    """The operation contradicts the current state (a duplicate, a decided request …)."""

    slug = "conflict"


class Gone(DomainError):
    """The thing existed but is no longer available (an expired survey link)."""

    slug = "gone"


class StaleVersion(Conflict):
    """The record changed since the version the caller read."""

    slug = "stale-version"


class PreconditionRequired(DomainError):
    """The operation needs a precondition the caller did not send (``If-Match``)."""

    slug = "precondition-required"


class UnsupportedMedia(DomainError):
    slug = "unsupported-media-type"


class Unavailable(DomainError):
    """A dependency is down; trying again later may succeed."""

    slug = "service-unavailable"
