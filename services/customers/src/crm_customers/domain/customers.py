"""Use cases on customers. Each runs in one transaction and stages its events in the outbox,
so a request either applies entirely, events included, or not at all."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository, serials
from crm_customers.db.models import Contact, Customer, CustomerTag, Tag
from crm_customers.domain import access
from crm_customers.domain.codes import format_customer_code, sequence_scope
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import CustomerKind, Lifecycle, ReviewStatus
from crm_customers.domain.search import CustomerFilter, SortKey, normalize_name
from crm_customers.domain.validation import mask_id_number
from crm_customers.events import published as ev
from crm_platform.events import add_event
from crm_platform.http.problems import Conflict, NotFound, Problem
from crm_platform.idempotency import IdempotencyClaim, StoredResponse, claim_key, complete_claim
from crm_platform.integrity import is_unique_violation

ID_NUMBER_CONTEXT = "customer.id_number"
KEY_FIELDS = ("name", "credit_code", "kind")


class InvalidField(Problem):
    """A value that passed syntax checks but breaks a rule that needs the database."""

    status = 422
    slug = "validation-error"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"The request is not valid: {field} {message}.",
            errors=[{"field": f"body.{field}", "message": message, "code": "invalid"}],
        )


class StaleVersion(Conflict):
    slug = "stale-version"


@dataclass(frozen=True)
class CustomerView:
    """A customer as one caller may see it (sensitive fields masked unless allowed)."""

    customer: Customer
    tags: list[str]
    id_number: str | None
    change_request: Any = None  # the ChangeRequest an update filed instead of applying key fields


def snapshot_of(customer: Customer, tags: Sequence[str]) -> ev.CustomerSnapshot:
    return ev.CustomerSnapshot(
        id=str(customer.id),
        code=customer.code,
        kind=customer.kind,
        name=customer.name,
        industry=customer.industry,
        lifecycle=customer.lifecycle,
        activity_status=customer.activity_status,
        grade=customer.grade,
        owner_id=customer.owner_id,
        tags=list(tags),
        review_status=customer.review_status,
        archived=customer.archived_at is not None,
        version=customer.version,
    )


def stage(
    session: AsyncSession,
    ctx: RequestContext,
    routing_key: str,
    payload: Any,
    subject: uuid.UUID,
    *,
    causation_id: str | None = None,
) -> None:
    """Stage an event in the open transaction; ``causation_id``: the event that caused it."""
    event = ev.build_event(
        routing_key, payload, subject=str(subject), actor=ctx.actor, causation_id=causation_id
    )
    add_event(session, event)


def _masked_view(customer: Customer, tags: list[str], ctx: RequestContext) -> CustomerView:
    masked = None
    if customer.id_number_encrypted:
        clear = ctx.cipher.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)
        masked = mask_id_number(clear)
    return CustomerView(customer, tags, masked)


async def _revealed_view(
    session: AsyncSession, customer: Customer, tags: list[str], ctx: RequestContext
) -> CustomerView:
    """Unmasked for roles allowed to see it; every unmasked read leaves an audit event."""
    if not customer.id_number_encrypted or not access.may_unmask(
        ctx.identity, ctx.settings.unmask_roles
    ):
        return _masked_view(customer, tags, ctx)
    clear = ctx.cipher.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)
    stage(
        session,
        ctx,
        ev.CUSTOMER_SENSITIVE_READ,
        ev.SensitiveRead(
            customer_id=str(customer.id),
            fields=["id_number"],
            reader_id=ctx.actor,
            reader_roles=sorted(ctx.identity.roles),
        ),
        customer.id,
    )
    return CustomerView(customer, tags, clear)


async def _resolve_tags(session: AsyncSession, names: Sequence[str]) -> list[Tag]:
    wanted = list(dict.fromkeys(names))
    found = await repository.tags_by_name(session, wanted)
    unknown = [n for n in wanted if n not in found or not found[n].active]
    if unknown:
        raise InvalidField("tags", f"are not administered tags: {', '.join(unknown)}")
    return [found[n] for n in wanted]


async def _check_industry(session: AsyncSession, code: str) -> None:
    if not await repository.industry_is_active(session, code):
        raise InvalidField("industry", f"'{code}' is not an administered industry")


def _pointer(customer: Customer | repository.CustomerRef) -> dict[str, str]:
    return {"id": str(customer.id), "code": customer.code, "name": customer.name}


async def check_hard_duplicates(
    session: AsyncSession,
    *,
    credit_code: str | None,
    id_number_index: str | None,
    exclude: uuid.UUID | None = None,
) -> None:
    """The same credit code (or ID number) is the same customer: refused, with a pointer."""
    if credit_code:
        existing = await repository.find_by_credit_code(session, credit_code)
        if existing is not None and existing.id != exclude:
            raise Conflict(
                f"A customer with credit code {credit_code} already exists: {existing.code}.",
                slug="duplicate-credit-code",
                existing=_pointer(existing),
            )
    if id_number_index:
        existing = await repository.find_by_id_number_index(session, id_number_index)
        if existing is not None and existing.id != exclude:
            raise Conflict(
                f"A customer with this ID number already exists: {existing.code}.",
                slug="duplicate-id-number",
                existing=_pointer(existing),
            )


async def find_soft_duplicates(
    session: AsyncSession,
    ctx: RequestContext,
    *,
    name: str | None,
    mobiles: Sequence[str],
    exclude: uuid.UUID | None = None,
) -> list[dict[str, str]]:
    """Similar names and shared contact mobiles: the caller decides."""
    candidates: dict[str, dict[str, str]] = {}
    if name is not None:
        similar = await repository.find_similar_names(session, name, normalize_name(name), exclude)
        for customer in similar:
            candidates[str(customer.id)] = {**_pointer(customer), "reason": "similar_name"}
    if mobiles:
        for customer, mobile in await repository.find_customers_with_mobiles(
            session, mobiles, exclude
        ):
            candidates.setdefault(
                str(customer.id), {**_pointer(customer), "reason": f"same_contact_mobile:{mobile}"}
            )
    return list(candidates.values())


def raise_if_soft_duplicates(candidates: list[dict[str, str]]) -> None:
    if candidates:
        raise Conflict(
            "This customer looks like an existing one; check the candidates and resend with "
            "allow_duplicate=true to create it anyway.",
            slug="possible-duplicate",
            candidates=candidates,
        )


async def create_customer(
    session: AsyncSession,
    ctx: RequestContext,
    fields: dict[str, Any],
    contacts: list[dict[str, Any]],
    *,
    allow_duplicate: bool,
    claim: IdempotencyClaim | None = None,
    render: Callable[[CustomerView], dict[str, Any]] | None = None,
) -> CustomerView | StoredResponse:
    """Create a customer (and its first contacts) with a fresh code; ``customer.created``."""
    fields = dict(fields)
    tag_names = fields.pop("tags", [])
    id_number = fields.pop("id_number", None)
    owner_id = fields.pop("owner_id", None) or ctx.actor
    access.ensure_can_create(ctx.identity, owner_id)
    access.ensure_can_set_grade(ctx.identity, None, fields.get("grade"))
    now = datetime.now(UTC)
    scope = sequence_scope(ctx.settings.customer_code_prefix, now.year)
    async with session.begin():
        if claim is not None and (stored := await claim_key(session, claim)) is not None:
            return stored
        await _check_industry(session, fields["industry"])
        tags = await _resolve_tags(session, tag_names)
        id_index = (
            ctx.cipher.blind_index(id_number, context=ID_NUMBER_CONTEXT) if id_number else None
        )
        await check_hard_duplicates(
            session, credit_code=fields.get("credit_code"), id_number_index=id_index
        )
        if not allow_duplicate:
            mobiles = [c["mobile"] for c in contacts if c.get("mobile")]
            raise_if_soft_duplicates(
                await find_soft_duplicates(session, ctx, name=fields["name"], mobiles=mobiles)
            )
        (serial,) = await serials.take_serials(session, scope)
        customer = Customer(
            **fields,
            code=format_customer_code(ctx.settings.customer_code_prefix, now.year, serial),
            name_normalized=normalize_name(fields["name"]),
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
            await repository.insert_customer(session, customer)
        except IntegrityError as exc:  # another create took the same identifier meanwhile
            if not is_unique_violation(exc, "customer", "credit_code"):
                raise
            raise Conflict(
                "A customer with the same credit code or ID number was created at the same "
                "moment; search for it before creating again.",
                slug="duplicate-identifier",
            ) from exc
        for tag in tags:  # a new customer has no links to replace
            session.add(CustomerTag(customer_id=customer.id, tag_id=tag.id))
        from crm_customers.domain.contacts import add_contacts  # contacts build on customers

        await add_contacts(session, ctx, customer, contacts)
        names = [t.name for t in tags]
        stage(session, ctx, ev.CUSTOMER_CREATED, snapshot_of(customer, names), customer.id)
        view = _masked_view(customer, names, ctx)
        if claim is not None and render is not None:
            await complete_claim(session, claim, 201, render(view))
    return view


async def load_visible(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer:
    """The customer if this caller may see it; another rep's customer is simply not found."""
    scope = access.owner_scope(ctx.identity)
    customer = await repository.get_customer(session, customer_id, for_update=for_update)
    if customer is None or (scope is not None and customer.owner_id != scope):
        raise NotFound(f"No customer {customer_id}.")
    return customer


async def get_customer(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID
) -> CustomerView:
    async with session.begin():
        customer = await load_visible(session, ctx, customer_id)
        tags = (await repository.tags_of(session, [customer.id]))[customer.id]
        return await _revealed_view(session, customer, tags, ctx)


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
    return CustomerList([_masked_view(c, tags[c.id], ctx) for c in customers], total, exact)


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
    return [_masked_view(c, tags[c.id], ctx) for c in customers], total


async def load_for_change(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    expected_version: int | None = None,
) -> Customer:
    """The customer, row-locked, once the caller may change it and (if given) still holds
    the version they read."""
    customer = await load_visible(session, ctx, customer_id, for_update=True)
    access.ensure_can_write(ctx.identity, customer.owner_id, customer_id)
    if expected_version is not None:
        ensure_version(customer, expected_version)
    return customer


def ensure_version(customer: Customer | Contact, expected: int) -> None:
    if customer.version != expected:
        raise StaleVersion(
            f"The record changed since you read it (you sent version {expected}, it is now "
            f"{customer.version}); reload it and apply your change again.",
            current_version=customer.version,
        )


async def flush_versioned(session: AsyncSession, expected: int) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            f"The record was changed by someone else while you saved version {expected}; "
            "reload it and apply your change again."
        ) from exc


async def update_customer(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    expected_version: int,
    change_reason: str | None = None,
) -> CustomerView:
    """Apply ``changes``; key fields of a won customer are left to a change request
    (``view.change_request``), the other fields apply at once."""
    from crm_customers.domain import change_requests  # approvals build on customers

    changes = dict(changes)
    async with session.begin():
        customer = await load_for_change(session, ctx, customer_id, expected_version)
        if "grade" in changes:
            access.ensure_can_set_grade(ctx.identity, customer.grade, changes["grade"])
        held = change_requests.held_key_changes(customer, changes)
        if not held:
            return await apply_changes(session, ctx, customer, changes, reason="manual")
        request = await change_requests.request_key_changes(
            session, ctx, customer, held, reason=change_reason
        )
        # Key fields not held are unchanged values: leave them out so nothing is rewritten.
        rest = {f: v for f, v in changes.items() if f not in held and f not in KEY_FIELDS}
        if rest:
            view = await apply_changes(session, ctx, customer, rest, reason="manual")
        else:
            tags = (await repository.tags_of(session, [customer.id]))[customer.id]
            view = _masked_view(customer, tags, ctx)
        return replace(view, change_request=request)


async def apply_changes(
    session: AsyncSession,
    ctx: RequestContext,
    customer: Customer,
    changes: dict[str, Any],
    *,
    reason: str,
    causation_id: str | None = None,
) -> CustomerView:
    """Validate and write ``changes`` to a loaded customer; stage the events they cause."""
    tag_names = changes.pop("tags", None)
    id_number = changes.pop("id_number", None) if "id_number" in changes else ...
    if "owner_id" in changes and changes["owner_id"] != customer.owner_id:
        raise InvalidField("owner_id", "changes through a transfer (POST /v1/customers/transfer)")
    changes.pop("owner_id", None)
    resulting_kind = changes.get("kind", customer.kind)
    if "industry" in changes:
        await _check_industry(session, changes["industry"])
    _check_kind_fields(resulting_kind, customer, changes, id_number)
    id_index = None
    if id_number is not ... and id_number is not None:
        id_index = ctx.cipher.blind_index(id_number, context=ID_NUMBER_CONTEXT)
    await check_hard_duplicates(
        session,
        credit_code=changes.get("credit_code"),
        id_number_index=id_index,
        exclude=customer.id,
    )
    previous_lifecycle = customer.lifecycle
    for field, value in changes.items():
        setattr(customer, field, value)
    if "name" in changes:
        customer.name_normalized = normalize_name(customer.name)
    if id_number is not ...:
        customer.id_number_encrypted = (
            ctx.cipher.encrypt(id_number, context=ID_NUMBER_CONTEXT) if id_number else None
        )
        customer.id_number_index = id_index
    if tag_names is not None:
        await repository.set_customer_tags(
            session, customer.id, await _resolve_tags(session, tag_names)
        )
    customer.updated_at = datetime.now(UTC)
    session.add(customer)
    await flush_versioned(session, customer.version)
    tags = (await repository.tags_of(session, [customer.id]))[customer.id]
    snapshot = snapshot_of(customer, tags)
    stage(session, ctx, ev.CUSTOMER_UPDATED, snapshot, customer.id, causation_id=causation_id)
    if customer.lifecycle != previous_lifecycle:
        stage(
            session,
            ctx,
            ev.CUSTOMER_LIFECYCLE_CHANGED,
            ev.LifecycleChanged(
                customer=snapshot,
                previous_lifecycle=previous_lifecycle,
                lifecycle=customer.lifecycle,
                reason=reason,
                cause_event_id=causation_id,
            ),
            customer.id,
            causation_id=causation_id,
        )
    return _masked_view(customer, tags, ctx)


def _check_kind_fields(
    kind: str, customer: Customer, changes: dict[str, Any], id_number: object
) -> None:
    if kind == CustomerKind.INDIVIDUAL:
        if changes.get("credit_code") or (customer.credit_code and "credit_code" not in changes):
            raise InvalidField("credit_code", "applies to enterprise customers only")
        if changes.get("registered_address") or (
            customer.registered_address and "registered_address" not in changes
        ):
            raise InvalidField("registered_address", "applies to enterprise customers only")
    elif id_number not in (..., None) or (customer.id_number_encrypted and id_number is ...):
        raise InvalidField("id_number", "applies to individual customers only")


async def set_archived(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    *,
    archived: bool,
    expected_version: int | None,
) -> CustomerView:
    """Archive (soft-delete) or restore; archived customers leave the default lists."""
    async with session.begin():
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
        return _masked_view(customer, tags, ctx)


def lifecycle_after_positive_feedback(current: str) -> str | None:
    """SPEC §1 lifecycle automation: positive feedback turns a prospect into intent."""
    return Lifecycle.INTENT.value if current == Lifecycle.PROSPECT else None
