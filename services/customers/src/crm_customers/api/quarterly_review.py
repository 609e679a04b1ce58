"""Routes of the quarterly review (seed 002): who is due, and marking a customer reviewed.

Registered before the customers router so ``/v1/customers/review-due`` is not taken for a
customer id."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import CustomerOut, CustomerPage
from crm_customers.db.search_spec import CustomerFilter, SortKey
from crm_customers.domain import quarterly_review
from crm_customers.domain.enums import ActivityStatus, Grade, Lifecycle
from crm_platform.http.dependencies import SessionDep

router = APIRouter(prefix="/v1/customers", tags=["quarterly review"])


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activity_status: ActivityStatus = Field(description="活跃 active / 沉睡 dormant / 流失 churned")
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
        | None
    ) = None
    version: int | None = Field(default=None, ge=1, description="The customer version you read")


@router.get("/review-due", response_model=CustomerPage)
async def review_due(
    session: SessionDep,
    ctx: Context,
    q: Annotated[
        str | None, Query(max_length=100, description="Code prefix or name substring")
    ] = None,
    owner_id: Annotated[str | None, Query(max_length=64)] = None,
    industry: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies defaults)
    lifecycle: Annotated[list[Lifecycle], Query()] = [],  # noqa: B006
    grade: Annotated[list[Grade], Query()] = [],  # noqa: B006
    activity_status: Annotated[list[ActivityStatus], Query()] = [],  # noqa: B006
    sort: SortKey = SortKey.CODE_ASC,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CustomerPage:
    """Live customers you can see that nobody reviewed since this quarter began
    (quarters in the business time zone, Asia/Shanghai by default)."""
    flt = CustomerFilter(
        q=q,
        owner_id=owner_id,
        industries=tuple(industry),
        lifecycles=tuple(lifecycle),
        grades=tuple(grade),
        activity_statuses=tuple(activity_status),
    )
    views, total = await quarterly_review.review_due(
        session, ctx, flt, sort=sort, page=page, page_size=page_size
    )
    return CustomerPage(
        items=[CustomerOut.of(v) for v in views], total=total, page=page, page_size=page_size
    )


@router.post("/{customer_id}/review", response_model=CustomerOut)
async def mark_reviewed(
    customer_id: uuid.UUID, body: ReviewIn, session: SessionDep, ctx: Context, response: Response
) -> CustomerOut:
    """Record this quarter's review with the customer's activity status."""
    view = await quarterly_review.mark_reviewed(
        session,
        ctx,
        customer_id,
        activity_status=body.activity_status,
        note=body.note,
        expected_version=body.version,
    )
    response.headers["etag"] = f'"{view.customer.version}"'
    return CustomerOut.of(view)
