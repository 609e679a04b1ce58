"""Use cases on opportunities (销售机会): create, read, list, edit, move through the stages,
and follow their customer when it is merged or changes owner. Each runs in the transaction
its caller opened and stages its events in the outbox."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_engagement.db import opportunity_repository as repository
from crm_engagement.db.opportunity_models import Opportunity, OpportunityStageChange
from crm_engagement.db.opportunity_repository import OpportunityFilter
from crm_engagement.domain import access
from crm_engagement.domain.commands import (
    CreateOpportunity,
    MoveOpportunityStage,
    UpdateOpportunity,
)
from crm_engagement.domain.context import RequestContext
from crm_engagement.domain.stages import (
    DEFAULT_PROBABILITY,
    MoveKind,
    Stage,
    StageMove,
    decide_move,
    probability_after,
)
from crm_engagement.events import published as ev
from crm_platform.errors import Conflict, InvalidField, NotFound, StaleVersion
from crm_platform.events.outbox import add_event

EDITABLE = frozenset(
    {
        "name",
        "expected_amount",
        "expected_close_on",
        "probability",
        "competitors",
        "strengths",
        "weaknesses",
        "owner_id",
        "evaluated_on",
    }
)


def opportunity_code(customer_code: str, serial: int) -> str:
    """``<customer code>OP<serial>``: two digits, widening past 99 (``…OP100``)."""
    return f"{customer_code}OP{serial:02d}"


@dataclass(frozen=True)
class OpportunityDetail:
    opportunity: Opportunity
    history: list[OpportunityStageChange]


def _stage_event(
    session: AsyncSession, ctx: RequestContext, routing_key: str, payload: Any, subject: uuid.UUID
) -> None:
    add_event(session, ev.build_event(routing_key, payload, subject=str(subject), actor=ctx.actor))


def snapshot_of(opportunity: Opportunity) -> ev.OpportunitySnapshot:
    return ev.OpportunitySnapshot(
        id=str(opportunity.id),
        code=opportunity.code,
        customer_id=str(opportunity.customer_id),
        name=opportunity.name,
        expected_amount=opportunity.expected_amount,
        expected_close_on=opportunity.expected_close_on,
        stage=opportunity.stage,
        probability=opportunity.probability,
        owner_id=opportunity.owner_id,
        actual_amount=opportunity.actual_amount,
        contract_number=opportunity.contract_number,
        lost_reason=opportunity.lost_reason,
        created_at=opportunity.created_at,
        closed_at=opportunity.closed_at,
        version=opportunity.version,
    )


async def create_opportunity(
    session: AsyncSession, ctx: RequestContext, command: CreateOpportunity
) -> OpportunityDetail:
    """Number and write a new opportunity with its first history row; ``opportunity.created``."""
    scope = access.owner_scope(ctx.identity)
    customer = await repository.get_customer(session, command.customer_id)
    if customer is None or (scope is not None and customer.owner_id != scope):
        raise InvalidField("customer_id", "is not a customer known to you")
    access.ensure_can_write(ctx.identity, customer.owner_id, command.customer_id)
    if customer.archived:
        raise Conflict(
            f"Customer {customer.code} is archived; it takes no new opportunities.",
            slug="customer-archived",
        )
    if not command.stage.is_open:
        raise InvalidField("stage", "must be an open stage; close it with a stage move")
    owner_id = command.owner_id or customer.owner_id
    access.ensure_can_assign(ctx.identity, owner_id)
    now = datetime.now(UTC)
    [serial] = await repository.take_serials(session, customer.id)
    probability = (
        command.probability
        if command.probability is not None
        else DEFAULT_PROBABILITY[command.stage]
    )
    opportunity = Opportunity(
        code=opportunity_code(customer.code, serial),
        customer_id=customer.id,
        serial=serial,
        name=command.name,
        expected_amount=command.expected_amount,
        expected_close_on=command.expected_close_on,
        stage=command.stage.value,
        probability=probability,
        competitors=[asdict(c) for c in command.competitors],
        strengths=command.strengths,
        weaknesses=command.weaknesses,
        owner_id=owner_id,
        evaluated_on=command.evaluated_on,
        created_by=ctx.actor,
        created_at=now,
        updated_at=now,
    )
    first = OpportunityStageChange(
        opportunity_id=opportunity.id,
        from_stage=None,
        to_stage=opportunity.stage,
        note=command.note or "Opportunity created",
        changed_by=ctx.actor,
        changed_at=now,
        expected_amount=opportunity.expected_amount,
        probability=probability,
    )
    session.add(opportunity)
    session.add(first)
    await session.flush()
    _stage_event(session, ctx, ev.OPPORTUNITY_CREATED, snapshot_of(opportunity), opportunity.id)
    return OpportunityDetail(opportunity, [first])


async def _load_visible(
    session: AsyncSession,
    ctx: RequestContext,
    opportunity_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> tuple[Opportunity, str]:
    scope = access.owner_scope(ctx.identity)
    found = await repository.get_opportunity(session, opportunity_id, for_update=for_update)
    if found is None:
        raise NotFound(f"No opportunity {opportunity_id}.")
    opportunity, customer_owner = found
    customer_owner = customer_owner or opportunity.owner_id
    if scope is not None and customer_owner != scope:
        raise NotFound(f"No opportunity {opportunity_id}.")
    return opportunity, customer_owner


async def _load_for_change(
    session: AsyncSession, ctx: RequestContext, opportunity_id: uuid.UUID, expected_version: int
) -> Opportunity:
    opportunity, customer_owner = await _load_visible(session, ctx, opportunity_id, for_update=True)
    access.ensure_can_write(ctx.identity, customer_owner, opportunity_id, what="opportunity")
    if opportunity.version != expected_version:
        raise StaleVersion(
            f"The opportunity changed since you read it (you sent version {expected_version}, "
            f"it is now {opportunity.version}); reload it and apply your change again.",
            current_version=opportunity.version,
        )
    return opportunity


async def _flush_versioned(session: AsyncSession, expected: int) -> None:
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            f"The opportunity was changed by someone else while you saved version {expected}; "
            "reload it and apply your change again."
        ) from exc


async def get_opportunity(
    session: AsyncSession, ctx: RequestContext, opportunity_id: uuid.UUID
) -> OpportunityDetail:
    opportunity, _ = await _load_visible(session, ctx, opportunity_id)
    history = await repository.history_of(session, opportunity_id)
    return OpportunityDetail(opportunity, list(history))


async def list_opportunities(
    session: AsyncSession,
    ctx: RequestContext,
    flt: OpportunityFilter,
    *,
    page: int,
    page_size: int,
) -> tuple[list[Opportunity], int]:
    scoped = OpportunityFilter(
        **{**flt.__dict__, "visible_customer_owner": access.owner_scope(ctx.identity)}
    )
    return await repository.page_opportunities(
        session, scoped, offset=(page - 1) * page_size, limit=page_size
    )


async def update_opportunity(
    session: AsyncSession, ctx: RequestContext, command: UpdateOpportunity
) -> OpportunityDetail:
    """Edit the descriptive fields; the stage moves only through ``move_stage``."""
    changes = dict(command.changes)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidField(sorted(unknown)[0], "cannot be changed here")
    opportunity = await _load_for_change(
        session, ctx, command.opportunity_id, command.expected_version
    )
    if "owner_id" in changes and changes["owner_id"] != opportunity.owner_id:
        access.ensure_can_assign(ctx.identity, changes["owner_id"])
    if "probability" in changes and not Stage(opportunity.stage).is_open:
        raise InvalidField("probability", "is fixed once the opportunity is closed")
    if "competitors" in changes:
        changes["competitors"] = [asdict(c) for c in changes["competitors"]]
    for name, value in changes.items():
        setattr(opportunity, name, value)
    opportunity.updated_at = datetime.now(UTC)
    session.add(opportunity)
    await _flush_versioned(session, command.expected_version)
    history = await repository.history_of(session, opportunity.id)
    return OpportunityDetail(opportunity, list(history))


async def move_stage(
    session: AsyncSession, ctx: RequestContext, command: MoveOpportunityStage
) -> OpportunityDetail:
    """Move through the stage machine (``domain.stages``), record the step with its progress
    note; ``opportunity.stage_changed``, plus ``opportunity.won`` or ``opportunity.lost``."""
    opportunity = await _load_for_change(
        session, ctx, command.opportunity_id, command.expected_version
    )
    current = Stage(opportunity.stage)
    kind = decide_move(
        current,
        StageMove(
            to=command.to,
            actual_amount=command.actual_amount,
            contract_number=command.contract_number,
            lost_reason=command.lost_reason,
        ),
        may_reopen=access.may_reopen(ctx.identity),
    )
    now = datetime.now(UTC)
    opportunity.stage = command.to.value
    opportunity.probability = probability_after(kind, command.to, command.probability)
    if kind == MoveKind.WIN:
        opportunity.actual_amount = command.actual_amount
        opportunity.contract_number = (command.contract_number or "").strip()
        opportunity.closed_at = now
    elif kind == MoveKind.LOSE:
        opportunity.lost_reason = command.lost_reason.value if command.lost_reason else None
        opportunity.lost_detail = command.lost_detail
        opportunity.closed_at = now
    elif kind == MoveKind.REOPEN:  # the closing facts stay in the history
        opportunity.actual_amount = None
        opportunity.contract_number = None
        opportunity.lost_reason = None
        opportunity.lost_detail = None
        opportunity.closed_at = None
    opportunity.updated_at = now
    session.add(opportunity)
    step = OpportunityStageChange(
        opportunity_id=opportunity.id,
        from_stage=current.value,
        to_stage=command.to.value,
        note=command.note,
        changed_by=ctx.actor,
        changed_at=now,
        expected_amount=opportunity.expected_amount,
        probability=opportunity.probability,
        actual_amount=opportunity.actual_amount,
        contract_number=opportunity.contract_number,
        lost_reason=opportunity.lost_reason,
        lost_detail=opportunity.lost_detail,
    )
    session.add(step)
    await _flush_versioned(session, command.expected_version)
    snapshot = snapshot_of(opportunity)
    changed = ev.StageChanged(
        opportunity=snapshot,
        from_stage=current.value,
        to_stage=command.to.value,
        note=command.note,
        changed_by=ctx.actor,
        changed_at=now,
    )
    _stage_event(session, ctx, ev.OPPORTUNITY_STAGE_CHANGED, changed, opportunity.id)
    if kind == MoveKind.WIN:
        assert opportunity.actual_amount is not None and opportunity.contract_number
        won = ev.OpportunityWon(
            id=str(opportunity.id),
            customer_id=str(opportunity.customer_id),
            code=opportunity.code,
            owner_id=opportunity.owner_id,
            actual_amount=opportunity.actual_amount,
            contract_number=opportunity.contract_number,
            won_at=now,
        )
        _stage_event(session, ctx, ev.OPPORTUNITY_WON, won, opportunity.id)
    elif kind == MoveKind.LOSE:
        assert opportunity.lost_reason is not None
        lost = ev.OpportunityLost(
            id=str(opportunity.id),
            customer_id=str(opportunity.customer_id),
            code=opportunity.code,
            owner_id=opportunity.owner_id,
            lost_reason=opportunity.lost_reason,
            lost_detail=opportunity.lost_detail,
            lost_at=now,
        )
        _stage_event(session, ctx, ev.OPPORTUNITY_LOST, lost, opportunity.id)
    history = await repository.history_of(session, opportunity.id)
    return OpportunityDetail(opportunity, list(history))


# --------------------------------------------------------------------------- following customers


async def repoint_opportunities(
    session: AsyncSession, from_customer_id: uuid.UUID, to_customer_id: uuid.UUID
) -> list[uuid.UUID]:
    """``customer.merged``: the merged customer's opportunities belong to the survivor now.
    Each keeps its code and takes the survivor's next serial. Returns the ids moved."""
    return await repository.repoint_opportunities(
        session, from_customer_id, to_customer_id, datetime.now(UTC)
    )


async def reassign_open_opportunities(
    session: AsyncSession, customer_id: uuid.UUID, new_owner_id: str
) -> list[uuid.UUID]:
    """``customer.owner_changed``: the customer's open opportunities go to its new owner;
    won and lost ones stay credited to whoever closed them. Returns the ids changed."""
    return await repository.reassign_open_opportunities(
        session, customer_id, new_owner_id, datetime.now(UTC)
    )
