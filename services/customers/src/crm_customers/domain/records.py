"""What the customer use cases share: loading a customer the caller may see (and lock, and
check the version of), the duplicate checks, applying field changes, the caller's view of a
customer, and staging its events. Use case modules (``customers``, ``contacts``,
``change_requests``, ``customer_merge`` …) import from here, never from one another's
private names, so none of them imports another in a circle."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository
from crm_customers.db.models import Contact, Customer, Tag
from crm_customers.domain import access
from crm_customers.domain.context import RequestContext
from crm_customers.domain.enums import CustomerKind
from crm_customers.domain.names import core_name, name_columns, normalize_name
from crm_customers.domain.validation import mask_id_number
from crm_customers.events import published as ev
from crm_platform.errors import Conflict, InvalidField, NotFound, StaleVersion
from crm_platform.events import add_event

ID_NUMBER_CONTEXT = "customer.id_number"


KEY_FIELDS = ("name", "credit_code", "kind")


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


def masked_view(customer: Customer, tags: list[str], ctx: RequestContext) -> CustomerView:
    masked = None
    if customer.id_number_encrypted:
        clear = ctx.cipher.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)
        masked = mask_id_number(clear)
    return CustomerView(customer, tags, masked)


async def revealed_view(
    session: AsyncSession, customer: Customer, tags: list[str], ctx: RequestContext
) -> CustomerView:
    """Unmasked for roles allowed to see it; every unmasked read leaves an audit event."""
    if not customer.id_number_encrypted or not access.may_unmask(
        ctx.identity, ctx.settings.unmask_roles
    ):
        return masked_view(customer, tags, ctx)
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


async def resolve_tags(session: AsyncSession, names: Sequence[str]) -> list[Tag]:
    wanted = list(dict.fromkeys(names))
    found = await repository.tags_by_name(session, wanted)
    unknown = [n for n in wanted if n not in found or not found[n].active]
    if unknown:
        raise InvalidField("tags", f"are not administered tags: {', '.join(unknown)}")
    return [found[n] for n in wanted]


def industry_not_administered(code: str) -> InvalidField:
    return InvalidField("industry", f"'{code}' is not an administered industry")


async def check_industry(session: AsyncSession, code: str) -> None:
    if not await repository.industry_is_active(session, code):
        raise industry_not_administered(code)


def _pointer(customer: Customer | repository.CustomerRef) -> dict[str, str]:
    return {"id": str(customer.id), "code": customer.code, "name": customer.name}


MERGE_CHAIN_LIMIT = 20


async def survivor_of(session: AsyncSession, customer: Customer) -> Customer:
    """The customer that ``customer`` was merged into, through any chain of merges (itself
    when it was never merged)."""
    current = customer
    for _ in range(MERGE_CHAIN_LIMIT):
        if current.merged_into is None:
            return current
        survivor = await repository.get_customer(session, current.merged_into)
        if survivor is None:
            return current
        current = survivor
    return current


async def _duplicate_conflict(
    session: AsyncSession, existing: Customer, *, what: str, slug: str
) -> Conflict:
    """``existing`` points at the record to work with: for a merged-away customer (which keeps
    its credit code or ID number), the survivor, with the merged one as ``merged_from``."""
    survivor = await survivor_of(session, existing)
    if survivor is existing:
        return Conflict(
            f"A customer with {what} already exists: {existing.code}.",
            slug=slug,
            existing=_pointer(existing),
        )
    return Conflict(
        f"A customer with {what} already exists: {existing.code}, merged into {survivor.code}.",
        slug=slug,
        existing=_pointer(survivor),
        merged_from={**_pointer(existing), "merged_into": str(existing.merged_into)},
    )


async def check_hard_duplicates(
    session: AsyncSession,
    *,
    credit_code: str | None,
    id_number_index: str | None,
    exclude: uuid.UUID | None = None,
) -> None:
    """The same credit code (or ID number) is the same customer: refused, with a pointer
    (to the survivor when the customer holding it was merged into another)."""
    if credit_code:
        existing = await repository.find_by_credit_code(session, credit_code)
        if existing is not None and existing.id != exclude:
            raise await _duplicate_conflict(
                session,
                existing,
                what=f"credit code {credit_code}",
                slug="duplicate-credit-code",
            )
    if id_number_index:
        existing = await repository.find_by_id_number_index(session, id_number_index)
        if existing is not None and existing.id != exclude:
            raise await _duplicate_conflict(
                session, existing, what="this ID number", slug="duplicate-id-number"
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
    similar = []
    if name is not None:
        similar = await repository.find_similar_names(
            session, normalize_name(name), core_name(name), exclude
        )
    shared = []
    if mobiles:
        shared = [
            (mobile, repository.CustomerRef(customer.id, customer.code, customer.name))
            for customer, mobile in await repository.find_customers_with_mobiles(
                session, mobiles, exclude
            )
        ]
    return _soft_candidates(similar, shared)


def _soft_candidates(
    similar: Sequence[repository.CustomerRef],
    shared: Sequence[tuple[str, repository.CustomerRef]],
) -> list[dict[str, str]]:
    """What ``possible-duplicate`` lists: each customer once, a similar name first."""
    candidates: dict[str, dict[str, str]] = {}
    for customer in similar:
        candidates[str(customer.id)] = {**_pointer(customer), "reason": "similar_name"}
    for mobile, customer in shared:
        candidates.setdefault(
            str(customer.id), {**_pointer(customer), "reason": f"same_contact_mobile:{mobile}"}
        )
    return list(candidates.values())


@dataclass(frozen=True)
class SoftDuplicateQuestion:
    """One would-be customer to check: its name and its contacts' mobiles."""

    name: str
    mobiles: Sequence[str]


async def find_soft_duplicates_many(
    session: AsyncSession, questions: Sequence[SoftDuplicateQuestion]
) -> list[list[dict[str, str]]]:
    """``find_soft_duplicates`` for many would-be customers (an import's rows), answered by a
    few set-wise statements instead of two per row; same candidates, same reasons."""
    similar = await repository.find_similar_names_many(
        session, [(normalize_name(q.name), core_name(q.name)) for q in questions]
    )
    by_mobile = await repository.customers_with_mobiles(
        session, [m for q in questions for m in q.mobiles]
    )
    answers = []
    for question, names in zip(questions, similar, strict=True):
        shared = [(m, c) for m in dict.fromkeys(question.mobiles) for c in by_mobile.get(m, [])]
        answers.append(_soft_candidates(names, shared[:5]))
    return answers


def raise_if_soft_duplicates(candidates: list[dict[str, str]]) -> None:
    if candidates:
        raise Conflict(
            "This customer looks like an existing one; check the candidates and resend with "
            "allow_duplicate=true to create it anyway.",
            slug="possible-duplicate",
            candidates=candidates,
        )


async def load_visible(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID, *, for_update: bool = False
) -> Customer:
    """The customer if this caller may see it; another rep's customer is simply not found."""
    scope = access.owner_scope(ctx.identity)
    customer = await repository.get_customer(session, customer_id, for_update=for_update)
    if customer is None or (scope is not None and customer.owner_id != scope):
        raise NotFound(f"No customer {customer_id}.")
    return customer


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
        await check_industry(session, changes["industry"])
    check_kind_fields(resulting_kind, customer, changes, id_number)
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
        for column, value in name_columns(customer.name).items():
            setattr(customer, column, value)
    if id_number is not ...:
        customer.id_number_encrypted = (
            ctx.cipher.encrypt(id_number, context=ID_NUMBER_CONTEXT) if id_number else None
        )
        customer.id_number_index = id_index
    if tag_names is not None:
        await repository.set_customer_tags(
            session, customer.id, await resolve_tags(session, tag_names)
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
    return masked_view(customer, tags, ctx)


def check_kind_fields(
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
