"""The filters of a customer list as one dependency, so every route that takes "a filtered
list" (``GET /v1/customers``, the export) accepts exactly the same query parameters."""

import uuid
from typing import Annotated

from fastapi import Query

from crm_customers.db.search_spec import CustomerFilter
from crm_customers.domain.enums import ActivityStatus, Grade, Lifecycle, ReviewStatus
from crm_platform.http.moments import UtcMoment


async def customer_filter(  # async: FastAPI runs plain-def dependencies in a thread
    q: Annotated[
        str | None, Query(max_length=100, description="Code prefix or name substring")
    ] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
    fuzzy: Annotated[bool, Query(description="Also match similar names")] = False,
    code: Annotated[str | None, Query(max_length=32)] = None,
    industry: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    lifecycle: Annotated[list[Lifecycle], Query()] = [],  # noqa: B006
    grade: Annotated[list[Grade], Query()] = [],  # noqa: B006
    tag: Annotated[list[str], Query()] = [],  # noqa: B006
    activity_status: Annotated[list[ActivityStatus], Query()] = [],  # noqa: B006
    review_status: Annotated[list[ReviewStatus], Query()] = [],  # noqa: B006
    owner_id: Annotated[str | None, Query(max_length=64)] = None,
    created_from: UtcMoment | None = None,
    created_to: UtcMoment | None = None,
    archived: Annotated[
        bool | None,
        Query(description="true: archived only; omit: live only (with `id`: both)"),
    ] = None,
    customer_id: Annotated[
        list[uuid.UUID],
        Query(
            alias="id",
            max_length=200,
            description="These customers only: a page of follow-ups names its customers in "
            "one call (archived ones included unless `archived` says otherwise)",
        ),
    ] = [],  # noqa: B006
) -> CustomerFilter:
    return CustomerFilter(
        q=q,
        name=name,
        fuzzy=fuzzy,
        code=code,
        industries=tuple(industry),
        lifecycles=tuple(lifecycle),
        grades=tuple(grade),
        tags=tuple(tag),
        activity_statuses=tuple(activity_status),
        review_statuses=tuple(review_status),
        owner_id=owner_id,
        created_from=created_from,
        created_to=created_to,
        archived=archived if archived is not None else (None if customer_id else False),
        ids=tuple(customer_id),
    )
