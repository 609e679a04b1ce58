"""HTTP routes of the customers service: validate, delegate to the domain, shape the answer."""

import uuid

from fastapi import APIRouter, Query, Request, status

from crm_customers.api.schemas import CustomerCreate, CustomerOut, CustomerPage
from crm_customers.domain import customers
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.security import CurrentIdentity

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(
    body: CustomerCreate, session: SessionDep, identity: CurrentIdentity, request: Request
) -> CustomerOut:
    customer = await customers.create_customer(
        session,
        kind=body.kind,
        name=body.name,
        industry=body.industry,
        lifecycle=body.lifecycle,
        owner_id=body.owner_id,
        actor=identity,
        code_prefix=request.app.state.settings.customer_code_prefix,
    )
    return CustomerOut.model_validate(customer)


@router.get("", response_model=CustomerPage)
async def list_customers(
    session: SessionDep,
    page: int = Query(default=1, ge=1, le=100_000),
    page_size: int = Query(default=20, ge=1, le=200),
) -> CustomerPage:
    items, total = await customers.list_customers(session, page=page, page_size=page_size)
    return CustomerPage(
        items=[CustomerOut.model_validate(c) for c in items],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, session: SessionDep) -> CustomerOut:
    return CustomerOut.model_validate(await customers.get_customer(session, customer_id))
