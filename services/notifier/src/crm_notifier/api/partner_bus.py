"""Routes of the partners' queues on the bus (admins only): validate, delegate, shape."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status

from crm_notifier.api.dependencies import Context
from crm_notifier.api.partner_bus_schemas import (
    PartnerQueueCreate,
    PartnerQueueOut,
    PartnerQueueProvisioned,
)
from crm_notifier.domain import partner_bus
from crm_notifier.domain.partner_bus_commands import RevokePartnerQueue
from crm_platform.http.dependencies import SessionDep

router = APIRouter(prefix="/v1/partner-queues", tags=["partners on the bus"])


@router.get("", response_model=list[PartnerQueueOut])
async def list_partner_queues(
    session: SessionDep,
    ctx: Context,
    status: Annotated[Literal["active", "revoked"] | None, Query()] = None,
) -> list[PartnerQueueOut]:
    found = await partner_bus.list_partner_queues(session, ctx, status=status)
    return [PartnerQueueOut.of(s) for s in found]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PartnerQueueProvisioned,
    responses={409: {"description": "The partner has an active queue already"}},
)
async def provision_partner_queue(
    body: PartnerQueueCreate, session: SessionDep, ctx: Context
) -> PartnerQueueProvisioned:
    """The partner's queue bound to the events exchange by ``patterns``, and a broker user
    that may only consume from it. The password is in this answer only."""
    provisioned = await partner_bus.provision(session, ctx, body.command())
    return PartnerQueueProvisioned.of(provisioned)


@router.delete("/{partner}", response_model=PartnerQueueOut)
async def revoke_partner_queue(
    partner: Annotated[str, Path(min_length=1, max_length=40)],
    session: SessionDep,
    ctx: Context,
    delete_queue: Annotated[
        bool, Query(description="Also delete the queue and the messages in it")
    ] = False,
) -> PartnerQueueOut:
    command = RevokePartnerQueue(partner=partner, delete_queue=delete_queue)
    return PartnerQueueOut.of(await partner_bus.revoke(session, ctx, command))
