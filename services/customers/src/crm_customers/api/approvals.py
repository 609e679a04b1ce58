"""Routes of approvals: change requests to key fields of won customers, and the review of new
customers (when ``CRM_CUSTOMER_REVIEW_NEW`` is on)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import CustomerOut
from crm_customers.domain import change_requests, new_record_review
from crm_customers.domain.change_requests import ChangeRequestStatus, ChangeRequestView
from crm_customers.domain.new_record_review import ReviewAction
from crm_platform.http.dependencies import SessionDep

router = APIRouter(prefix="/v1/change-requests", tags=["change requests"])
review_router = APIRouter(prefix="/v1/customers", tags=["new-record review"])

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeRequestOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer_code: str
    customer_name: str = Field(description="The customer's name now (before approval: the old)")
    changes: dict[str, Any] = Field(description="Requested values of key fields")
    previous: dict[str, Any] = Field(description="The values they replace")
    requested_by: str
    reason: str | None
    status: ChangeRequestStatus
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, view: ChangeRequestView) -> "ChangeRequestOut":
        request = view.request
        fields = {f: getattr(request, f) for f in cls.model_fields if hasattr(request, f)}
        return cls(**fields, customer_code=view.customer.code, customer_name=view.customer.name)


class ChangeRequestPage(BaseModel):
    items: list[ChangeRequestOut]
    total: int
    page: int
    page_size: int


class PendingKeyChange(BaseModel):
    """202 answer of PATCH /v1/customers/{id}: key fields wait in ``change_request``; every
    other field of the PATCH is already applied to ``customer``."""

    customer: CustomerOut
    change_request: ChangeRequestOut


class ApproveIn(_Strict):
    reason: Reason | None = None
    version: int | None = Field(default=None, ge=1, description="The request version you read")


class RejectIn(_Strict):
    reason: Reason = Field(description="Why (kept on the request, told to the requester)")
    version: int | None = Field(default=None, ge=1)


class WithdrawIn(_Strict):
    version: int | None = Field(default=None, ge=1)


@router.get("", response_model=ChangeRequestPage)
async def list_change_requests(
    session: SessionDep,
    ctx: Context,
    status: Annotated[list[ChangeRequestStatus], Query()] = [],  # noqa: B006
    customer_id: uuid.UUID | None = None,
    requested_by: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ChangeRequestPage:
    """Newest first. A sales rep sees the requests of the customers they own."""
    views, total = await change_requests.list_change_requests(
        session,
        ctx,
        statuses=[s.value for s in status],
        customer_id=customer_id,
        requested_by=requested_by,
        page=page,
        page_size=page_size,
    )
    return ChangeRequestPage(
        items=[ChangeRequestOut.of(v) for v in views], total=total, page=page, page_size=page_size
    )


@router.get("/{request_id}", response_model=ChangeRequestOut)
async def get_change_request(
    request_id: uuid.UUID, session: SessionDep, ctx: Context
) -> ChangeRequestOut:
    return ChangeRequestOut.of(await change_requests.get_change_request(session, ctx, request_id))


@router.post("/{request_id}/approve", response_model=ChangeRequestOut)
async def approve_change_request(
    request_id: uuid.UUID, session: SessionDep, ctx: Context, body: ApproveIn | None = None
) -> ChangeRequestOut:
    """Sales managers and admins (not the requester): the changes apply, re-validated."""
    body = body or ApproveIn()
    view = await change_requests.approve(
        session, ctx, request_id, reason=body.reason, expected_version=body.version
    )
    return ChangeRequestOut.of(view)


@router.post("/{request_id}/reject", response_model=ChangeRequestOut)
async def reject_change_request(
    request_id: uuid.UUID, body: RejectIn, session: SessionDep, ctx: Context
) -> ChangeRequestOut:
    view = await change_requests.reject(
        session, ctx, request_id, reason=body.reason, expected_version=body.version
    )
    return ChangeRequestOut.of(view)


@router.post("/{request_id}/withdraw", response_model=ChangeRequestOut)
async def withdraw_change_request(
    request_id: uuid.UUID, session: SessionDep, ctx: Context, body: WithdrawIn | None = None
) -> ChangeRequestOut:
    view = await change_requests.withdraw(
        session, ctx, request_id, expected_version=body.version if body else None
    )
    return ChangeRequestOut.of(view)


class ReviewDecisionIn(_Strict):
    decision: ReviewAction
    reason: Reason | None = Field(default=None, description="Required to reject")
    version: int | None = Field(default=None, ge=1, description="The customer version you read")

    @model_validator(mode="after")
    def _reason_to_reject(self) -> Self:
        if self.decision == ReviewAction.REJECT and self.reason is None:
            raise ValueError("reason is required to reject")
        return self


class ResubmitIn(_Strict):
    reason: Reason | None = Field(default=None, description="What was corrected")
    version: int | None = Field(default=None, ge=1)


class ReviewDecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    decision: str = Field(description="approved | rejected | resubmitted")
    reason: str | None
    decided_by: str
    decided_at: datetime


class ReviewOut(BaseModel):
    customer: CustomerOut
    decision: ReviewDecisionOut


def _etag(response: Response, version: int) -> None:
    response.headers["etag"] = f'"{version}"'


@review_router.post("/{customer_id}/review-decision", response_model=ReviewOut)
async def decide_review(
    customer_id: uuid.UUID,
    body: ReviewDecisionIn,
    session: SessionDep,
    ctx: Context,
    response: Response,
) -> ReviewOut:
    """Sales managers and admins approve a pending new customer or reject it with a reason."""
    outcome = await new_record_review.decide(
        session,
        ctx,
        customer_id,
        body.decision,
        reason=body.reason,
        expected_version=body.version,
    )
    _etag(response, outcome.view.customer.version)
    return ReviewOut(
        customer=CustomerOut.of(outcome.view),
        decision=ReviewDecisionOut.model_validate(outcome.decision),
    )


@review_router.post("/{customer_id}/review-resubmit", response_model=ReviewOut)
async def resubmit_review(
    customer_id: uuid.UUID,
    session: SessionDep,
    ctx: Context,
    response: Response,
    body: ResubmitIn | None = None,
) -> ReviewOut:
    """The owner puts a rejected (and corrected) customer back into the review queue."""
    body = body or ResubmitIn()
    outcome = await new_record_review.resubmit(
        session, ctx, customer_id, reason=body.reason, expected_version=body.version
    )
    _etag(response, outcome.view.customer.version)
    return ReviewOut(
        customer=CustomerOut.of(outcome.view),
        decision=ReviewDecisionOut.model_validate(outcome.decision),
    )


@review_router.get("/{customer_id}/review-decisions", response_model=list[ReviewDecisionOut])
async def review_history(
    customer_id: uuid.UUID, session: SessionDep, ctx: Context
) -> list[ReviewDecisionOut]:
    decisions = await new_record_review.history(session, ctx, customer_id)
    return [ReviewDecisionOut.model_validate(d) for d in decisions]
