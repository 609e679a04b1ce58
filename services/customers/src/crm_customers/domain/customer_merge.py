"""Merging a duplicate customer into the one that stays (SPEC §1 duplicates and merge).

The source's contacts (archived ones too, so history follows) move to the target, whose primary
contact stays the only primary; tags are united; the source's grading evaluations join the
target's history (marked ``merged_from``; the target's grade is its own); customers referred by
the source are now referred by the target; the source is archived with ``merged_into``
pointing at the target.
``customer.merged`` tells other services to re-point their records (follow-ups, tickets, ...).
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import approval_repository, grading_repository, repository
from crm_customers.db.models import Customer
from crm_customers.domain import access
from crm_customers.domain.contacts import contact_snapshot
from crm_customers.domain.context import RequestContext
from crm_customers.domain.records import (
    CustomerView,
    ensure_version,
    flush_versioned,
    load_visible,
    masked_view,
    snapshot_of,
    stage,
)
from crm_customers.events import published as ev
from crm_platform.errors import Conflict, InvalidField


@dataclass(frozen=True)
class MergeResult:
    target: CustomerView
    source: Customer
    moved_contact_ids: list[uuid.UUID]


def _ensure_mergeable(target: Customer, source: Customer) -> None:
    if source.merged_into is not None:
        raise Conflict(
            f"Customer {source.code} was already merged into {source.merged_into}.",
            slug="already-merged",
            merged_into=str(source.merged_into),
        )
    if source.archived_at is not None:
        raise Conflict(
            f"Customer {source.code} is archived; restore it before merging it.",
            slug="customer-archived",
        )
    if target.archived_at is not None:
        raise Conflict(
            f"Customer {target.code} is archived; nothing can be merged into it.",
            slug="customer-archived",
        )
    if source.kind != target.kind:
        # An enterprise and a person are never the same customer; their key fields differ too.
        raise InvalidField(
            "source_id", f"is a {source.kind} customer and cannot merge into a {target.kind} one"
        )


async def merge_customers(
    session: AsyncSession,
    ctx: RequestContext,
    target_id: uuid.UUID,
    source_id: uuid.UUID,
    *,
    expected_version: int | None,
    source_version: int | None,
) -> MergeResult:
    """Merge ``source_id`` into ``target_id`` in one transaction. Managers and admins merge
    any two customers; a sales rep only two they own (another's is simply not found)."""
    if target_id == source_id:
        raise InvalidField("source_id", "must be another customer than the one merged into")
    now = datetime.now(UTC)
    locked = {}
    for customer_id in sorted((target_id, source_id)):  # fixed order: no deadlock
        locked[customer_id] = await load_visible(session, ctx, customer_id, for_update=True)
    target, source = locked[target_id], locked[source_id]
    access.ensure_can_write(ctx.identity, target.owner_id, target_id)
    access.ensure_can_write(ctx.identity, source.owner_id, source_id)
    if expected_version is not None:
        ensure_version(target, expected_version)
    if source_version is not None:
        ensure_version(source, source_version)
    _ensure_mergeable(target, source)
    pending = await approval_repository.pending_change_request(session, source.id)
    if pending is not None:
        raise Conflict(
            f"Customer {source.code} has a pending change request; decide or withdraw it "
            "before merging.",
            slug="change-request-pending",
            change_request={"id": str(pending.id)},
        )

    target_contacts = await repository.contacts_of(session, target.id)
    has_primary = any(c.is_primary for c in target_contacts)
    moved = await approval_repository.contacts_of_for_update(session, source.id)
    for contact in moved:
        contact.customer_id = target.id
        if contact.is_primary and has_primary:
            contact.is_primary = False
        has_primary = has_primary or contact.is_primary
        contact.updated_at = now
        session.add(contact)

    tags = await repository.tags_of(session, [target.id, source.id])
    united = list(dict.fromkeys(tags[target.id] + tags[source.id]))
    if united != tags[target.id]:
        found = await repository.tags_by_name(session, united)
        await repository.set_customer_tags(session, target.id, [found[n] for n in united])
        await session.flush()
        united = (await repository.tags_of(session, [target.id]))[target.id]  # in list order

    if target.referred_by == source.id:
        target.referred_by = None
    source.archived_at = now
    source.merged_into = target.id
    source.updated_at = now
    target.updated_at = now
    session.add_all([source, target])
    await flush_versioned(session, target.version)
    await approval_repository.repoint_referrals(session, source.id, target.id, now)
    await grading_repository.move_evaluations(session, source.id, target.id)

    for contact in moved:
        stage(session, ctx, ev.CONTACT_CHANGED, contact_snapshot(contact, "updated"), contact.id)
    stage(session, ctx, ev.CUSTOMER_ARCHIVED, snapshot_of(source, tags[source.id]), source.id)
    target_snapshot = snapshot_of(target, united)
    stage(session, ctx, ev.CUSTOMER_UPDATED, target_snapshot, target.id)
    stage(
        session,
        ctx,
        ev.CUSTOMER_MERGED,
        ev.CustomerMerged(
            customer=target_snapshot,
            source_id=str(source.id),
            source_code=source.code,
            moved_contact_ids=[str(c.id) for c in moved],
        ),
        target.id,
    )
    return MergeResult(masked_view(target, united, ctx), source, [c.id for c in moved])
