"""Routes on a customer's contacts."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import ContactCreate, ContactOut, ContactPatch
from crm_customers.domain import contacts
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/customers/{customer_id}/contacts", tags=["contacts"])


@router.get("", response_model=list[ContactOut])
async def list_contacts(
    customer_id: uuid.UUID,
    session: SessionDep,
    ctx: Context,
    include_archived: Annotated[bool, Query()] = False,
) -> list[ContactOut]:
    found = await contacts.list_contacts(
        session, ctx, customer_id, include_archived=include_archived
    )
    return [ContactOut.of(c) for c in found]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ContactOut)
async def create_contact(
    customer_id: uuid.UUID, body: ContactCreate, session: SessionDep, ctx: Context
) -> ContactOut:
    contact = await contacts.create_contact(session, ctx, body.command(customer_id))
    return ContactOut.of(contact)


@router.patch("/{contact_id}", response_model=ContactOut)
async def update_contact(
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    body: ContactPatch,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> ContactOut:
    contact = await contacts.update_contact(
        session,
        ctx,
        customer_id,
        contact_id,
        body.model_dump(mode="json", exclude_unset=True, exclude={"version"}),
        expected_version=expected_version(body.version, if_match),
    )
    return ContactOut.of(contact)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def archive_contact(
    customer_id: uuid.UUID, contact_id: uuid.UUID, session: SessionDep, ctx: Context
) -> Response:
    await contacts.archive_contact(session, ctx, customer_id, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
