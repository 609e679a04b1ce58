"""Owner transfer (离职交接, seed 000 §5.1): one customer, a list, or every live customer of a
person moves to another owner in one transaction; ``customer.owner_changed`` per customer lets
every other service follow."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import approval_repository, repository
from crm_customers.db.approval_models import OwnerTransfer
from crm_customers.db.models import Customer
from crm_customers.domain import access
from crm_customers.domain.commands import TransferOwner
from crm_customers.domain.context import RequestContext
from crm_customers.domain.records import (
    snapshot_of,
    stage,
)
from crm_customers.events import published as ev
from crm_platform.errors import Forbidden, InvalidField, NotFound


@dataclass(frozen=True)
class TransferResult:
    transfer: OwnerTransfer
    customer_ids: list[uuid.UUID]
    unchanged: int  # already owned by the new owner: nothing to do, no event


def _ensure_may_transfer(
    ctx: RequestContext, customers: list[Customer], wanted: list[uuid.UUID]
) -> None:
    """All-or-nothing: an id the caller cannot see fails the whole request as not found."""
    scope = access.owner_scope(ctx.identity)
    if not access.can_write_any(ctx.identity) and not ctx.identity.roles & access.WRITE_OWN:
        raise Forbidden("Your role can read customers but not transfer them.")
    found = {c.id: c for c in customers}
    for customer_id in wanted:
        customer = found.get(customer_id)
        if customer is None or (scope is not None and customer.owner_id != scope):
            raise NotFound(f"No customer {customer_id}.")
        access.ensure_can_write(ctx.identity, customer.owner_id, customer_id)


async def transfer_owner(
    session: AsyncSession, ctx: RequestContext, command: TransferOwner
) -> TransferResult:
    """Move ``customer_ids`` (any owner) or all live customers of ``from_owner_id``.

    Managers and admins transfer anything; a sales rep only customers they own, and "all of a
    person's customers" only for themselves. Rows are locked in id order and updated in
    batches, so thousands of customers take a handful of statements, not one per customer.
    """
    to_owner_id, customer_ids = command.to_owner_id, command.customer_ids
    from_owner_id, reason = command.from_owner_id, command.reason
    if (customer_ids is None) == (from_owner_id is None):
        raise InvalidField("customer_ids", "or from_owner_id must be given (exactly one of them)")
    if from_owner_id is not None and from_owner_id == to_owner_id:
        raise InvalidField("to_owner_id", "must differ from from_owner_id")
    now = datetime.now(UTC)
    if customer_ids is not None:
        wanted = list(dict.fromkeys(customer_ids))
        customers = await approval_repository.lock_customers(session, wanted)
        _ensure_may_transfer(ctx, customers, wanted)
    else:
        assert from_owner_id is not None
        if not access.can_write_any(ctx.identity):
            if not ctx.identity.roles & access.WRITE_OWN:
                raise Forbidden("Your role can read customers but not transfer them.")
            if from_owner_id != ctx.actor:
                raise Forbidden(
                    "A sales rep may hand over only their own customers; ask a sales "
                    "manager to transfer another person's."
                )
        customers = await approval_repository.lock_live_customers_of(session, from_owner_id)
    moving = [c for c in customers if c.owner_id != to_owner_id]
    previous_owner = {c.id: c.owner_id for c in moving}
    transfer = OwnerTransfer(
        from_owner_id=from_owner_id,
        to_owner_id=to_owner_id,
        reason=reason,
        customer_count=len(moving),
        transferred_by=ctx.actor,
        created_at=now,
    )
    session.add(transfer)
    await approval_repository.reassign_owner(session, [c.id for c in moving], to_owner_id, now)
    tags: dict[uuid.UUID, list[str]] = {}
    for start in range(0, len(moving), approval_repository.BATCH):
        batch = moving[start : start + approval_repository.BATCH]
        tags |= await repository.tags_of(session, [c.id for c in batch])
    for customer in moving:
        stage(
            session,
            ctx,
            ev.CUSTOMER_OWNER_CHANGED,
            ev.OwnerChanged(
                customer=snapshot_of(customer, tags[customer.id]),
                previous_owner_id=previous_owner[customer.id],
                owner_id=to_owner_id,
                reason=reason,
                transfer_id=str(transfer.id),
            ),
            customer.id,
        )
    await session.flush()
    return TransferResult(transfer, [c.id for c in moving], len(customers) - len(moving))
