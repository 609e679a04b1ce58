"""Use cases on contacts: many per customer, exactly one primary, per-channel consent."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository
from crm_customers.db.models import Contact, Customer
from crm_customers.domain import access
from crm_customers.domain.commands import AddContact, NewContact
from crm_customers.domain.context import RequestContext
from crm_customers.domain.records import (
    ensure_version,
    find_soft_duplicates,
    flush_versioned,
    load_for_change,
    load_visible,
    raise_if_soft_duplicates,
    stage,
)
from crm_customers.events import published as ev
from crm_platform.errors import NotFound

OPT_OUT_FIELDS = {"email": "opt_out_email", "sms": "opt_out_sms", "wechat": "opt_out_wechat"}


def contact_snapshot(
    contact: Contact, change: Literal["created", "updated", "archived"]
) -> ev.ContactSnapshot:
    return ev.ContactSnapshot(
        id=str(contact.id),
        customer_id=str(contact.customer_id),
        change=change,
        name=contact.name,
        position=contact.position,
        mobile=contact.mobile,
        email=contact.email,
        wechat=contact.wechat,
        is_primary=contact.is_primary,
        marketing_opt_out=ev.MarketingOptOut(
            email=contact.opt_out_email, sms=contact.opt_out_sms, wechat=contact.opt_out_wechat
        ),
        archived=contact.archived_at is not None,
        version=contact.version,
    )


def _apply_opt_outs(contact: Contact, opt_outs: Mapping[str, bool] | None) -> None:
    for channel, value in (opt_outs or {}).items():
        setattr(contact, OPT_OUT_FIELDS[channel], bool(value))


async def _make_sole_primary(
    session: AsyncSession, customer_id: uuid.UUID, primary: Contact
) -> list[Contact]:
    """Unset every other primary; returns the contacts that changed."""
    changed = []
    for other in await repository.contacts_of(session, customer_id):
        if other.id != primary.id and other.is_primary:
            other.is_primary = False
            other.updated_at = datetime.now(UTC)
            session.add(other)
            changed.append(other)
    return changed


async def add_contacts(
    session: AsyncSession, ctx: RequestContext, customer: Customer, contacts: Sequence[NewContact]
) -> list[Contact]:
    """The first contact of a customer becomes primary."""
    if not contacts:
        return []
    existing = await repository.contacts_of(session, customer.id)
    created: list[Contact] = []
    now = datetime.now(UTC)
    for new in contacts:
        contact = Contact(customer_id=customer.id, created_at=now, updated_at=now, **new.columns())
        _apply_opt_outs(contact, new.marketing_opt_out)
        if not existing and not created:
            contact.is_primary = True
        session.add(contact)
        await session.flush()
        changed = (
            await _make_sole_primary(session, customer.id, contact) if contact.is_primary else []
        )
        created.append(contact)
        existing.append(contact)
        await session.flush()
        for other in changed:
            stage(session, ctx, ev.CONTACT_CHANGED, contact_snapshot(other, "updated"), other.id)
        stage(session, ctx, ev.CONTACT_CHANGED, contact_snapshot(contact, "created"), contact.id)
    return created


async def create_contact(
    session: AsyncSession, ctx: RequestContext, command: AddContact
) -> Contact:
    customer = await load_for_change(session, ctx, command.customer_id)
    mobile = command.contact.mobile
    if mobile and not command.allow_duplicate:
        raise_if_soft_duplicates(
            await find_soft_duplicates(
                session, ctx, name=None, mobiles=[mobile], exclude=customer.id
            )
        )
    [contact] = await add_contacts(session, ctx, customer, [command.contact])
    return contact


async def list_contacts(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID, *, include_archived: bool
) -> list[Contact]:
    await load_visible(session, ctx, customer_id)
    return await repository.contacts_of(session, customer_id, include_archived=include_archived)


async def _load_contact(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID, contact_id: uuid.UUID
) -> tuple[Customer, Contact]:
    customer = await load_visible(session, ctx, customer_id, for_update=True)
    contact = await repository.get_contact(session, contact_id)
    if contact is None or contact.customer_id != customer.id:
        raise NotFound(f"No contact {contact_id} for customer {customer_id}.")
    return customer, contact


async def update_contact(
    session: AsyncSession,
    ctx: RequestContext,
    customer_id: uuid.UUID,
    contact_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    expected_version: int,
) -> Contact:
    changes = dict(changes)
    customer, contact = await _load_contact(session, ctx, customer_id, contact_id)
    access.ensure_can_write(ctx.identity, customer.owner_id, customer_id)
    ensure_version(contact, expected_version)
    opt_outs = changes.pop("marketing_opt_out", None)
    for field, value in changes.items():
        setattr(contact, field, value)
    _apply_opt_outs(contact, opt_outs)
    contact.updated_at = datetime.now(UTC)
    session.add(contact)
    changed = await _make_sole_primary(session, customer.id, contact) if contact.is_primary else []
    await flush_versioned(session, expected_version)
    for other in changed:
        stage(session, ctx, ev.CONTACT_CHANGED, contact_snapshot(other, "updated"), other.id)
    stage(session, ctx, ev.CONTACT_CHANGED, contact_snapshot(contact, "updated"), contact.id)
    return contact


async def archive_contact(
    session: AsyncSession, ctx: RequestContext, customer_id: uuid.UUID, contact_id: uuid.UUID
) -> None:
    customer, contact = await _load_contact(session, ctx, customer_id, contact_id)
    access.ensure_can_write(ctx.identity, customer.owner_id, customer_id)
    if contact.archived_at is not None:
        return
    contact.archived_at = datetime.now(UTC)
    was_primary, contact.is_primary = contact.is_primary, False
    session.add(contact)
    await session.flush()
    stage(session, ctx, ev.CONTACT_CHANGED, contact_snapshot(contact, "archived"), contact.id)
    if was_primary:
        remaining = await repository.contacts_of(session, customer.id)
        if remaining:
            remaining[0].is_primary = True
            session.add(remaining[0])
            await session.flush()
            stage(
                session,
                ctx,
                ev.CONTACT_CHANGED,
                contact_snapshot(remaining[0], "updated"),
                remaining[0].id,
            )
