"""Routes on action items: list them, change one (mark done, re-assign, re-date)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from crm_engagement.api.dependencies import Context
from crm_engagement.api.schemas import ActionItemOut, ActionItemPageOut, ActionItemPatch
from crm_engagement.domain import action_items
from crm_engagement.domain.commands import UpdateActionItem
from crm_platform.http.dependencies import SessionDep
from crm_platform.http.versions import IfMatch, expected_version

router = APIRouter(prefix="/v1/action-items", tags=["action-items"])


@router.get("", response_model=ActionItemPageOut)
async def list_action_items(
    session: SessionDep,
    ctx: Context,
    assignee_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    customer_id: uuid.UUID | None = None,
    done: bool | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ActionItemPageOut:
    found = await action_items.list_action_items(
        session,
        ctx,
        assignee_id=assignee_id,
        customer_id=customer_id,
        done=done,
        page=page,
        page_size=page_size,
    )
    return ActionItemPageOut(
        items=[ActionItemOut.of(i) for i in found.items],
        total=found.total,
        page=page,
        page_size=page_size,
    )


@router.patch("/{item_id}", response_model=ActionItemOut)
async def update_action_item(
    item_id: uuid.UUID,
    body: ActionItemPatch,
    session: SessionDep,
    ctx: Context,
    response: Response,
    if_match: IfMatch = None,
) -> ActionItemOut:
    item = await action_items.update_action_item(
        session,
        ctx,
        UpdateActionItem(
            item_id=item_id,
            changes=body.changes(),
            expected_version=expected_version(body.version, if_match),
        ),
    )
    response.headers["etag"] = f'"{item.version}"'
    return ActionItemOut.of(item)
