"""Dependencies of the engagement API: the request context and the expected version."""

from typing import Annotated

from fastapi import Depends, Header, Request

from crm_engagement.domain.context import RequestContext
from crm_platform.errors import BadRequest, PreconditionRequired
from crm_platform.http.security import CurrentIdentity


async def request_context(request: Request, identity: CurrentIdentity) -> RequestContext:
    """Async on purpose: FastAPI runs a plain-def dependency in a worker thread."""
    return RequestContext(
        identity=identity, settings=request.app.state.settings, clock=request.app.state.clock
    )


Context = Annotated[RequestContext, Depends(request_context)]
IfMatch = Annotated[str | None, Header(alias="if-match", description="The version you read")]


def expected_version(body_version: int | None, if_match: str | None) -> int:
    """DESIGN.md: updates carry the version they were based on, in the body or If-Match."""
    if body_version is not None:
        return body_version
    if if_match:
        tag = if_match.strip().removeprefix("W/").strip('"')
        if tag.isdigit() and len(tag) < 10:
            return int(tag)
        raise BadRequest('If-Match must hold the record\'s version, e.g. "3".', slug="bad-if-match")
    raise PreconditionRequired(
        "Send the version you read (body field 'version' or If-Match) so no change is lost.",
        slug="version-required",
    )
