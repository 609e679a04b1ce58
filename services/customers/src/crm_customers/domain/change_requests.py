"""Change requests (seed 000 §2.1, seed 002 §1): key fields of a won customer change only when a
manager approves. An edit holds its key-field changes in a request; everything else applies."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import approval_repository
from crm_customers.db.approval_models import ChangeRequest
from crm_customers.db.models import Customer
from crm_customers.domain import access
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import Lifecycle
from crm_customers.domain.records import (
    ID_NUMBER_CONTEXT,
    KEY_FIELDS,
    apply_changes,
    check_hard_duplicates,
    check_kind_fields,
    load_visible,
    stage,
)
from crm_customers.domain.validation import mask_id_number
from crm_customers.events import published as ev
from crm_platform.errors import Conflict, Forbidden, InvalidField, NotFound, StaleVersion

KIND_DEPENDENT_FIELDS = ("credit_code", "registered_address", "id_number")
"""Fields whose validity depends on the kind: they wait with a change of kind."""


class ChangeRequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ChangeRequestView:
    request: ChangeRequest
    customer: Customer


def held_key_changes(customer: Customer, changes: dict[str, Any]) -> dict[str, Any]:
    """The part of ``changes`` that must wait for approval (empty unless the customer is won).

    Only key fields whose value actually differs count; with a change of kind the fields that
    depend on the kind wait too, since they are valid only together with it.
    """
    if customer.lifecycle != Lifecycle.WON:
        return {}
    held = {
        f: changes[f] for f in KEY_FIELDS if f in changes and changes[f] != getattr(customer, f)
    }
    if "kind" in held:
        held |= {f: changes[f] for f in KIND_DEPENDENT_FIELDS if f in changes}
    return held


def _previous_values(ctx: RequestContext, customer: Customer, fields: Any) -> dict[str, Any]:
    previous: dict[str, Any] = {}
    for field in fields:
        if field == "id_number":
            encrypted = customer.id_number_encrypted
            previous[field] = (
                mask_id_number(ctx.cipher.decrypt(encrypted, context=ID_NUMBER_CONTEXT))
                if encrypted
                else None
            )
        else:
            previous[field] = getattr(customer, field)
    return previous


def snapshot_of_request(request: ChangeRequest, customer: Customer) -> ev.ChangeRequestSnapshot:
    return ev.ChangeRequestSnapshot(
        id=str(request.id),
        customer_id=str(request.customer_id),
        customer_code=customer.code,
        customer_name=customer.name,
        owner_id=customer.owner_id,
        changes=request.changes,
        previous=request.previous,
        requested_by=request.requested_by,
        reason=request.reason,
        status=request.status,  # type: ignore[arg-type]
        decided_by=request.decided_by,
        decision_reason=request.decision_reason,
        version=request.version,
    )


async def request_key_changes(
    session: AsyncSession,
    ctx: RequestContext,
    customer: Customer,
    held: dict[str, Any],
    *,
    reason: str | None,
) -> ChangeRequest:
    """Inside the caller's transaction (customer row locked): validate and file the request.

    What can be checked now is checked now (kind rules, same credit code elsewhere), so the
    requester hears of a mistake at once; approval checks again against the state it finds.
    """
    pending = await approval_repository.pending_change_request(session, customer.id)
    if pending is not None:
        raise Conflict(
            f"Customer {customer.code} already has a pending change request; wait for the "
            "decision or withdraw it before requesting another key-field change.",
            slug="change-request-pending",
            change_request={"id": str(pending.id), "changes": pending.changes},
        )
    if held.get("id_number") is not None:
        raise InvalidField(
            "id_number",
            "cannot wait in a change request; set it once the change of kind is approved",
        )
    id_number = held.get("id_number", ...)
    check_kind_fields(held.get("kind", customer.kind), customer, held, id_number)
    await check_hard_duplicates(
        session, credit_code=held.get("credit_code"), id_number_index=None, exclude=customer.id
    )
    now = datetime.now(UTC)
    request = ChangeRequest(
        customer_id=customer.id,
        changes=held,
        previous=_previous_values(ctx, customer, held),
        requested_by=ctx.actor,
        reason=reason,
        status=ChangeRequestStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    await session.flush()
    stage(
        session, ctx, ev.CHANGE_REQUEST_CREATED, snapshot_of_request(request, customer), request.id
    )
    return request


async def _load_request(
    session: AsyncSession, ctx: RequestContext, request_id: uuid.UUID, *, for_update: bool
) -> tuple[ChangeRequest, Customer]:
    """The request if its customer is visible to the caller; otherwise it does not exist."""
    request = await approval_repository.get_change_request(
        session, request_id, for_update=for_update
    )
    if request is None:
        raise NotFound(f"No change request {request_id}.")
    try:
        customer = await load_visible(session, ctx, request.customer_id, for_update=for_update)
    except NotFound:
        raise NotFound(f"No change request {request_id}.") from None
    return request, customer


async def _load_for_decision(
    session: AsyncSession, ctx: RequestContext, request_id: uuid.UUID, expected_version: int | None
) -> tuple[ChangeRequest, Customer]:
    """A pending request (at the version the approver saw) that is not the approver's own."""
    access.ensure_approver(ctx.identity)
    request, customer = await _load_request(session, ctx, request_id, for_update=True)
    _ensure_pending(request, expected_version)
    _ensure_not_own(ctx, request)
    return request, customer


def _ensure_pending(request: ChangeRequest, expected_version: int | None) -> None:
    if request.status != ChangeRequestStatus.PENDING:
        raise Conflict(
            f"Change request {request.id} is already {request.status}.",
            slug="change-request-decided",
            status_now=request.status,
        )
    if expected_version is not None and request.version != expected_version:
        raise StaleVersion(
            f"The change request changed since you read it (you sent version "
            f"{expected_version}, it is now {request.version}); reload it.",
            current_version=request.version,
        )


def _ensure_still_current(ctx: RequestContext, request: ChangeRequest, customer: Customer) -> None:
    """The request replaces the values it was made against; if they moved meanwhile (e.g. the
    customer left ``won`` and was edited directly), approving would overwrite blindly."""
    now = _previous_values(ctx, customer, request.previous)
    moved = sorted(f for f in request.previous if now[f] != request.previous[f])
    if moved:
        raise Conflict(
            f"The customer's {', '.join(moved)} changed since this request was made; reject it "
            "and request the change again against the current record.",
            slug="change-request-outdated",
            fields=moved,
        )


def _ensure_not_own(ctx: RequestContext, request: ChangeRequest) -> None:
    """Four eyes: whoever asked for a change does not decide on it."""
    if request.requested_by == ctx.actor:
        raise Forbidden(
            "You requested this change, so another manager must decide on it (you may withdraw it)."
        )


async def _close(
    session: AsyncSession,
    ctx: RequestContext,
    request: ChangeRequest,
    customer: Customer,
    status: str,
    reason: str | None,
    routing_key: str,
) -> ChangeRequestView:
    """End a pending request with its decision and stage the event that announces it."""
    now = datetime.now(UTC)
    request.status = status
    request.decided_by = ctx.actor
    request.decided_at = now
    request.decision_reason = reason
    request.updated_at = now
    session.add(request)
    await session.flush()
    stage(session, ctx, routing_key, snapshot_of_request(request, customer), request.id)
    return ChangeRequestView(request, customer)


async def get_change_request(
    session: AsyncSession, ctx: RequestContext, request_id: uuid.UUID
) -> ChangeRequestView:
    request, customer = await _load_request(session, ctx, request_id, for_update=False)
    return ChangeRequestView(request, customer)


async def list_change_requests(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    statuses: list[str],
    customer_id: uuid.UUID | None,
    requested_by: str | None,
    page: int,
    page_size: int,
) -> tuple[list[ChangeRequestView], int]:
    rows, total = await approval_repository.search_change_requests(
        session,
        visible_owner=access.owner_scope(ctx.identity),
        statuses=statuses,
        customer_id=customer_id,
        requested_by=requested_by,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return [ChangeRequestView(request, customer) for request, customer in rows], total


async def approve(
    session: AsyncSession,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    reason: str | None,
    expected_version: int | None,
) -> ChangeRequestView:
    """Apply the held changes to the customer as it is now (re-validated); one transaction."""
    request, customer = await _load_for_decision(session, ctx, request_id, expected_version)
    if customer.archived_at is not None:
        raise Conflict(
            f"Customer {customer.code} is archived; restore it first or reject the request.",
            slug="customer-archived",
        )
    _ensure_still_current(ctx, request, customer)
    await apply_changes(
        session, ctx, customer, dict(request.changes), reason="change_request_approved"
    )
    return await _close(
        session,
        ctx,
        request,
        customer,
        ChangeRequestStatus.APPROVED,
        reason,
        ev.CHANGE_REQUEST_APPROVED,
    )


async def reject(
    session: AsyncSession,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    reason: str,
    expected_version: int | None,
) -> ChangeRequestView:
    """Close the request with the reason kept; the customer stays as it is."""
    request, customer = await _load_for_decision(session, ctx, request_id, expected_version)
    return await _close(
        session,
        ctx,
        request,
        customer,
        ChangeRequestStatus.REJECTED,
        reason,
        ev.CHANGE_REQUEST_REJECTED,
    )


async def withdraw(
    session: AsyncSession,
    ctx: RequestContext,
    request_id: uuid.UUID,
    *,
    expected_version: int | None,
) -> ChangeRequestView:
    """The requester takes the request back (e.g. to ask for something else)."""
    request, customer = await _load_request(session, ctx, request_id, for_update=True)
    if request.requested_by != ctx.actor:
        raise Forbidden("Only the person who requested a change may withdraw it.")
    _ensure_pending(request, expected_version)
    return await _close(
        session,
        ctx,
        request,
        customer,
        ChangeRequestStatus.WITHDRAWN,
        None,
        ev.CHANGE_REQUEST_WITHDRAWN,
    )
