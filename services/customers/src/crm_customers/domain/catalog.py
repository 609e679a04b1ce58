"""Administered lists: industries and tags (admins change them; everyone reads them)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_customers.db import repository
from crm_customers.db.models import Industry, Tag
from crm_customers.domain import access
from crm_customers.domain.context import RequestContext
from crm_platform.errors import Conflict, NotFound
from crm_platform.integrity import is_unique_violation


async def list_industries(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[Industry]:
    return await repository.list_industries(session, include_inactive=include_inactive)


async def list_tags(session: AsyncSession, *, include_inactive: bool = False) -> list[Tag]:
    return await repository.list_tags(session, include_inactive=include_inactive)


async def create_industry(
    session: AsyncSession, ctx: RequestContext, fields: dict[str, Any]
) -> Industry:
    access.ensure_settings_admin(ctx.identity)
    if await repository.get_industry(session, fields["code"]) is not None:
        raise Conflict(f"Industry {fields['code']} already exists.", slug="duplicate-industry")
    industry = Industry(**fields)
    session.add(industry)
    return industry


async def update_industry(
    session: AsyncSession, ctx: RequestContext, code: str, changes: dict[str, Any]
) -> Industry:
    access.ensure_settings_admin(ctx.identity)
    industry = await repository.get_industry(session, code)
    if industry is None:
        raise NotFound(f"No industry {code}.")
    for field, value in changes.items():
        setattr(industry, field, value)
    session.add(industry)
    return industry


async def create_tag(session: AsyncSession, ctx: RequestContext, fields: dict[str, Any]) -> Tag:
    access.ensure_settings_admin(ctx.identity)
    try:
        tag = Tag(**fields, created_at=datetime.now(UTC))
        session.add(tag)
        await session.flush()  # the unique name is checked here, inside the caller's transaction
    except IntegrityError as exc:
        if is_unique_violation(exc, "tag", "name"):
            raise _duplicate_tag(fields["name"]) from None
        raise
    return tag


async def update_tag(
    session: AsyncSession, ctx: RequestContext, tag_id: uuid.UUID, changes: dict[str, Any]
) -> Tag:
    access.ensure_settings_admin(ctx.identity)
    tag = await session.get(Tag, tag_id)
    if tag is None:
        raise NotFound(f"No tag {tag_id}.")
    try:
        for field, value in changes.items():
            setattr(tag, field, value)
        session.add(tag)
        await session.flush()  # the unique name is checked here, inside the caller's transaction
    except IntegrityError as exc:
        if is_unique_violation(exc, "tag", "name"):
            raise _duplicate_tag(changes["name"]) from None
        raise  # any other constraint: the HTTP edge answers it by its kind
    return tag


def _duplicate_tag(name: str) -> Conflict:
    return Conflict(f"Tag {name} already exists.", slug="duplicate-tag")
