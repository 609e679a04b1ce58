"""No lost update (DESIGN.md): a change carries the version it was based on, as a body field
``version`` or an ``If-Match`` header; the HTTP edge reads it here, one way for every service."""

from typing import Annotated

from fastapi import Header

from crm_platform.errors import BadRequest, PreconditionRequired

IfMatch = Annotated[str | None, Header(alias="if-match", description="The version you read")]
# A version is an INTEGER column: more digits than that cannot be one (and would overflow it).
MAX_VERSION_DIGITS = 9


def expected_version(body_version: int | None, if_match: str | None) -> int:
    """The version the caller read: the body's, else ``If-Match`` (``"3"``, ``W/"3"``); 400
    for an ``If-Match`` that is no version, 428 when neither is sent."""
    if body_version is not None:
        return body_version
    if if_match:
        tag = if_match.strip().removeprefix("W/").strip('"')
        if tag.isdigit() and len(tag) <= MAX_VERSION_DIGITS:
            return int(tag)
        raise BadRequest('If-Match must hold the record\'s version, e.g. "3".', slug="bad-if-match")
    raise PreconditionRequired(
        "Send the version you read (body field 'version' or If-Match) so no change is lost.",
        slug="version-required",
    )
