"""Routes on customers: validate, delegate to the domain, shape the answer."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from crm_customers.api.approvals import ChangeRequestOut, PendingKeyChange
from crm_customers.api.customer_filter import customer_filter
from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import (
    ArchiveRequest,
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
)
from crm_customers.db.search_spec import CustomerFilter, SortKey
from crm_customers.domain import customers
from crm_customers.domain.change_requests import ChangeRequestView
from crm_customers.domain.commands import UpdateCustomer
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/customers", tags=["customers"])


def _etag(response: Response, version: int) -> None:
    response.headers["etag"] = f'"{version}"'


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(
    body: CustomerCreate,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: customers.create_customer(session, ctx, body.command()),
        CustomerOut.of,
        headers=lambda view: {"etag": f'"{view.customer.version}"'},
    )


@router.get("", response_model=CustomerPage)
async def list_customers(
    session: SessionDep,
    ctx: Context,
    flt: Annotated[CustomerFilter, Depends(customer_filter)],
    sort: SortKey = SortKey.CREATED_DESC,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> CustomerPage:
    found = await customers.list_customers(
        session, ctx, flt, sort=sort, page=page, page_size=page_size
    )
    return CustomerPage(
        items=[CustomerOut.of(v) for v in found.views],
        total=found.total,
        total_exact=found.total_exact,
        page=page,
        page_size=page_size,
    )


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(
    customer_id: uuid.UUID, session: SessionDep, ctx: Context, response: Response
) -> CustomerOut:
    view = await customers.get_customer(session, ctx, customer_id)
    _etag(response, view.customer.version)
    return CustomerOut.of(view)


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    responses={
        202: {
            "model": PendingKeyChange,
            "description": "Key fields of a won customer wait for approval in a change request; "
            "the other fields are applied",
        }
    },
)
async def update_customer(
    customer_id: uuid.UUID,
    body: CustomerPatch,
    session: SessionDep,
    ctx: Context,
    response: Response,
    if_match: IfMatch = None,
) -> CustomerOut | JSONResponse:
    command = UpdateCustomer(
        customer_id=customer_id,
        changes=body.changes(),
        expected_version=expected_version(body.version, if_match),
        change_reason=body.change_reason,
    )
    view = await customers.update_customer(session, ctx, command)
    if view.change_request is not None:
        request = ChangeRequestView(view.change_request, view.customer)
        pending = PendingKeyChange(
            customer=CustomerOut.of(view), change_request=ChangeRequestOut.of(request)
        )
        return JSONResponse(
            pending.model_dump(mode="json"),
            status_code=status.HTTP_202_ACCEPTED,
            headers={
                "etag": f'"{view.customer.version}"',
                "location": f"/v1/change-requests/{view.change_request.id}",
            },
        )
    _etag(response, view.customer.version)
    return CustomerOut.of(view)


@router.post("/{customer_id}/archive", response_model=CustomerOut)
async def archive_customer(
    customer_id: uuid.UUID, session: SessionDep, ctx: Context, body: ArchiveRequest | None = None
) -> CustomerOut:
    view = await customers.set_archived(
        session, ctx, customer_id, archived=True, expected_version=body.version if body else None
    )
    return CustomerOut.of(view)


@router.post("/{customer_id}/restore", response_model=CustomerOut)
async def restore_customer(
    customer_id: uuid.UUID, session: SessionDep, ctx: Context, body: ArchiveRequest | None = None
) -> CustomerOut:
    view = await customers.set_archived(
        session, ctx, customer_id, archived=False, expected_version=body.version if body else None
    )
    return CustomerOut.of(view)
