"""Routes that change who a customer is or belongs to: owner transfer (离职交接) and merge.

``POST /v1/customers/transfer`` is a static path; no ``POST /v1/customers/{customer_id}`` route
exists, so it is never read as a customer id (a test pins this)."""

import uuid
from typing import Annotated, Self

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crm_customers.api.dependencies import Context
from crm_customers.api.schemas import CustomerOut
from crm_customers.domain import customer_merge, owner_transfer
from crm_customers.domain.commands import TransferOwner
from crm_platform.http.dependencies import SessionDep

router = APIRouter(prefix="/v1/customers", tags=["ownership"])

OwnerId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TransferIn(_Strict):
    customer_ids: list[uuid.UUID] | None = Field(
        default=None, min_length=1, max_length=50_000, description="These customers, or ..."
    )
    from_owner_id: OwnerId | None = Field(
        default=None, description="... every live customer of this person (离职交接)"
    )
    to_owner_id: OwnerId
    reason: Reason | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if (self.customer_ids is None) == (self.from_owner_id is None):
            raise ValueError("give either customer_ids or from_owner_id")
        return self


class TransferOut(BaseModel):
    transfer_id: uuid.UUID
    from_owner_id: str | None
    to_owner_id: str
    count: int = Field(description="Customers that changed owner (one owner_changed event each)")
    unchanged: int = Field(description="Customers already owned by to_owner_id")
    customer_ids: list[uuid.UUID]


class MergeIn(_Strict):
    source_id: uuid.UUID = Field(description="The duplicate; it is archived, merged into this one")
    version: int | None = Field(default=None, ge=1, description="Version of the target you read")
    source_version: int | None = Field(default=None, ge=1)


class MergeOut(BaseModel):
    customer: CustomerOut
    source_id: uuid.UUID
    source_code: str
    moved_contact_ids: list[uuid.UUID]


@router.post("/transfer", response_model=TransferOut)
async def transfer_customers(body: TransferIn, session: SessionDep, ctx: Context) -> TransferOut:
    """Move customers to another owner in one transaction (all or nothing). Managers and admins
    move anyone's; a sales rep only their own (another's customer: 404, nothing moves)."""
    command = TransferOwner(
        to_owner_id=body.to_owner_id,
        customer_ids=tuple(body.customer_ids) if body.customer_ids is not None else None,
        from_owner_id=body.from_owner_id,
        reason=body.reason,
    )
    result = await owner_transfer.transfer_owner(session, ctx, command)
    return TransferOut(
        transfer_id=result.transfer.id,
        from_owner_id=result.transfer.from_owner_id,
        to_owner_id=result.transfer.to_owner_id,
        count=len(result.customer_ids),
        unchanged=result.unchanged,
        customer_ids=result.customer_ids,
    )


@router.post("/{customer_id}/merge", response_model=MergeOut)
async def merge_customer(
    customer_id: uuid.UUID, body: MergeIn, session: SessionDep, ctx: Context, response: Response
) -> MergeOut:
    """Merge ``source_id`` into this customer: contacts move, tags unite, the source is
    archived with ``merged_into``; ``customer.merged`` lets other services re-point."""
    result = await customer_merge.merge_customers(
        session,
        ctx,
        customer_id,
        body.source_id,
        expected_version=body.version,
        source_version=body.source_version,
    )
    response.headers["etag"] = f'"{result.target.customer.version}"'
    return MergeOut(
        customer=CustomerOut.of(result.target),
        source_id=result.source.id,
        source_code=result.source.code,
        moved_contact_ids=result.moved_contact_ids,
    )
