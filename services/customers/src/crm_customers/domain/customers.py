"""Use cases on customers (create, read, list, update, archive). Each runs in one transaction
and stages its events in the outbox, so a request either applies entirely, events included,
or not at all."""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository
from crm_customers.db.models import Customer, CustomerTag
from crm_customers.db.search_spec import CustomerFilter, SortKey
from crm_customers.domain import access, change_requests
from crm_customers.domain.codes import format_customer_code, sequence_scope
from crm_customers.domain.commands import CreateCustomer, UpdateCustomer
from crm_customers.domain.contacts import add_contacts
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import Lifecycle, ReviewStatus
from crm_customers.domain.names import name_columns
from crm_customers.domain.records import (
    ID_NUMBER_CONTEXT,
    KEY_FIELDS,
    CustomerView,
    apply_changes,
    check_hard_duplicates,
    find_soft_duplicates,
    flush_versioned,
    industry_not_administered,
    load_for_change,
    load_visible,
    masked_view,
    raise_if_soft_duplicates,
    resolve_tags,
    revealed_view,
    snapshot_of,
    stage,
)
from crm_customers.events import published as ev
from crm_platform.errors import Conflict
from crm_platform.integrity import is_unique_violation


async def create_customer(
    session: AsyncSession, ctx: RequestContext, command: CreateCustomer
) -> CustomerView:
    """Create a customer (and its first contacts) with a fresh code; ``customer.created``."""
    owner_id = command.owner_id or ctx.actor
    access.ensure_can_create(ctx.identity, owner_id)
    access.ensure_can_set_grade(ctx.identity, None, command.grade)
    now = datetime.now(UTC)
    prefix = ctx.settings.customer_code_prefix
    fields = command.columns()
    id_number = command.id_number
    tags = await resolve_tags(session, command.tags)
    id_index = ctx.cipher.blind_index(id_number, context=ID_NUMBER_CONTEXT) if id_number else None
    await check_hard_duplicates(
        session, credit_code=fields.get("credit_code"), id_number_index=id_index
    )
    if not command.allow_duplicate:
        mobiles = [c.mobile for c in command.contacts if c.mobile]
        raise_if_soft_duplicates(
            await find_soft_duplicates(session, ctx, name=fields["name"], mobiles=mobiles)
        )
    customer = Customer(
        **fields,
        code="",  # numbered as it is written
        **name_columns(fields["name"]),
        id_number_encrypted=(
            ctx.cipher.encrypt(id_number, context=ID_NUMBER_CONTEXT) if id_number else None
        ),
        id_number_index=id_index,
        owner_id=owner_id,
        created_by=ctx.actor,
        review_status=(
            ReviewStatus.PENDING if ctx.settings.customer_review_new else ReviewStatus.APPROVED
        ),
        created_at=now,
        updated_at=now,
    )
    try:
        written = await repository.insert_numbered_customer(
            session,
            customer,
            scope=sequence_scope(prefix, now.year),
            code_head=f"{prefix}{now.year}",
            code_of=lambda serial: format_customer_code(prefix, now.year, serial),
        )
    except IntegrityError as exc:  # another create took the same identifier meanwhile
        if not is_unique_violation(exc, "customer", "credit_code"):
            raise
        raise Conflict(
            "A customer with the same credit code or ID number was created at the same "
            "moment; search for it before creating again.",
            slug="duplicate-identifier",
        ) from exc
    if not written:
        raise industry_not_administered(fields["industry"])
    for tag in tags:  # a new customer has no links to replace
        session.add(CustomerTag(customer_id=customer.id, tag_id=tag.id))
    await add_contacts(session, ctx, customer, command.contacts)
    names = [t.name for t in tags]
    stage(session, ctx, ev.CUSTOMER_CREATED, snapshot_of(customer, names), customer.id)
    return masked_view(customer, names, ctx)


async def get_customer(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID
) -> CustomerView:
    customer = await load_visible(session, ctx, customer_id)
    tags = (await repository.tags_of(session, [customer.id]))[customer.id]
    return await revealed_view(session, customer, tags, ctx)


@dataclass(frozen=True)
class CustomerList:
    """One page of a customer list; ``total_exact`` is False when ``total`` is an estimate."""

    views: list[CustomerView]
    total: int
    total_exact: bool


async def list_customers(
    session: AsyncSession,
    ctx: RequestContext,
    flt: CustomerFilter,
    *,
    sort: SortKey,
    page: int,
    page_size: int,
) -> CustomerList:
    """A page of the customers this caller may see (GET /v1/customers). Its total is exact up to
    ``settings.search_exact_total_limit`` matches and estimated above (PostgreSQL): an exact
    count would read every match, ~100 ms for a broad name term at a million customers."""
    scoped = CustomerFilter(**{**flt.__dict__, "visible_owner": access.owner_scope(ctx.identity)})
    customers, total, exact = await repository.page_customers(
        session,
        scoped,
        sort=sort,
        offset=(page - 1) * page_size,
        limit=page_size,
        exact_total_up_to=ctx.settings.search_exact_total_limit,
    )
    tags = await repository.tags_of(session, [c.id for c in customers])
    return CustomerList([masked_view(c, tags[c.id], ctx) for c in customers], total, exact)


async def search_customers(
    session: AsyncSession,
    ctx: RequestContext,
    flt: CustomerFilter,
    *,
    sort: SortKey,
    page: int,
    page_size: int,
) -> tuple[list[CustomerView], int]:
    """A page of the customers this caller may see, with the exact number of matches."""
    scoped = CustomerFilter(**{**flt.__dict__, "visible_owner": access.owner_scope(ctx.identity)})
    customers, total = await repository.search_customers(
        session, scoped, sort=sort, offset=(page - 1) * page_size, limit=page_size
    )
    tags = await repository.tags_of(session, [c.id for c in customers])
    return [masked_view(c, tags[c.id], ctx) for c in customers], total


async def update_customer(
    session: AsyncSession, ctx: RequestContext, command: UpdateCustomer
) -> CustomerView:
    """Apply ``changes``; key fields of a won customer are left to a change request
    (``view.change_request``), the other fields apply at once."""
    changes = dict(command.changes)
    customer = await load_for_change(session, ctx, command.customer_id, command.expected_version)
    if "grade" in changes:
        access.ensure_can_set_grade(ctx.identity, customer.grade, changes["grade"])
    held = change_requests.held_key_changes(customer, changes)
    if not held:
        return await apply_changes(session, ctx, customer, changes, reason="manual")
    request = await change_requests.request_key_changes(
        session, ctx, customer, held, reason=command.change_reason
    )
    # Key fields not held are unchanged values: leave them out so nothing is rewritten.
    rest = {f: v for f, v in changes.items() if f not in held and f not in KEY_FIELDS}
    if rest:
        view = await apply_changes(session, ctx, customer, rest, reason="manual")
    else:
        tags = (await repository.tags_of(session, [customer.id]))[customer.id]
        view = masked_view(customer, tags, ctx)
    return replace(view, change_request=request)


async def set_archived(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    *,
    archived: bool,
    expected_version: int | None,
) -> CustomerView:
    """Archive (soft-delete) or restore; archived customers leave the default lists."""
    customer = await load_for_change(session, ctx, customer_id, expected_version)
    if (customer.archived_at is not None) == archived:
        state = "archived" if archived else "not archived"
        raise Conflict(f"Customer {customer.code} is already {state}.", slug="no-change")
    customer.archived_at = datetime.now(UTC) if archived else None
    customer.updated_at = datetime.now(UTC)
    session.add(customer)
    await flush_versioned(session, customer.version)
    tags = (await repository.tags_of(session, [customer.id]))[customer.id]
    routing_key = ev.CUSTOMER_ARCHIVED if archived else ev.CUSTOMER_RESTORED
    stage(session, ctx, routing_key, snapshot_of(customer, tags), customer.id)
    return masked_view(customer, tags, ctx)


def lifecycle_after_positive_feedback(current: str) -> str | None:
    """SPEC §1 lifecycle automation: positive feedback turns a prospect into intent."""
    return Lifecycle.INTENT.value if current == Lifecycle.PROSPECT else None
