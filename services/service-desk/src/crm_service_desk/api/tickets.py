"""Routes on tickets: validate, delegate to the domain, shape the answer."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.http.dependencies import SessionDep
from crm_platform.http.idempotency import IdempotencyKey, claim_for, created_once
from crm_platform.http.versions import IfMatch, expected_version
from crm_service_desk.api.dependencies import Context
from crm_service_desk.api.kb_schemas import KbArticleOut
from crm_service_desk.api.ticket_schemas import (
    AssignIn,
    LogIn,
    NextClockOut,
    ResolveIn,
    StateChangeIn,
    TicketCreate,
    TicketDetailOut,
    TicketListItemOut,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from crm_service_desk.db.ticket_repository import TicketFilter
from crm_service_desk.domain import tickets
from crm_service_desk.domain.commands import (
    AssignTicket,
    ChangeTicketState,
    LogOnTicket,
    ResolveTicket,
    UpdateTicket,
)
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.domain.enums import Priority, TicketType

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])


class StatusFilter(StrEnum):
    OPEN = "open"  # pending assignment or in progress
    PENDING_ASSIGNMENT = "pending_assignment"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Order(StrEnum):
    NEWEST = "newest"
    QUEUE = "queue"  # urgent first, then by priority, oldest first: the order work is done in


def _answer(detail: tickets.TicketDetail, ctx: RequestContext, status_code: int = 200) -> Response:
    return Response(
        _detail_out(detail, ctx).model_dump_json(),
        status_code=status_code,
        media_type="application/json",
        headers={"etag": f'"{detail.ticket.version}"'},
    )


def _detail_out(detail: tickets.TicketDetail, ctx: RequestContext) -> TicketDetailOut:
    return TicketDetailOut.of_detail(detail, ctx.clock.now())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketDetailOut)
async def open_ticket(
    body: TicketCreate,
    session: SessionDep,
    ctx: Context,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await created_once(
        session,
        claim_for(request, ctx.actor, idempotency_key, body),
        lambda: tickets.open_ticket(session, ctx, body.command()),
        lambda detail: _detail_out(detail, ctx),
        headers=lambda detail: {"etag": f'"{detail.ticket.version}"'},
    )


@router.get("", response_model=TicketPage)
async def list_tickets(
    session: SessionDep,
    ctx: Context,
    status: StatusFilter | None = None,
    ticket_type: TicketType | None = None,
    priority: Priority | None = None,
    assignee_id: Annotated[
        str | None, Query(max_length=64, description="A user id, or 'me'")
    ] = None,
    unassigned: Annotated[bool, Query(description="Only tickets nobody has")] = False,
    customer_id: uuid.UUID | None = None,
    team_key: Annotated[str | None, Query(max_length=40)] = None,
    urgent: bool | None = None,
    waiting: Annotated[bool | None, Query(description="Waiting on the customer")] = None,
    created_from: Annotated[datetime | None, Query(description="Created at or after")] = None,
    created_to: Annotated[datetime | None, Query(description="Created before")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Code, title or customer")
    ] = None,
    order: Order = Order.NEWEST,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> TicketPage:
    flt = TicketFilter(
        status=status.value if status else None,
        ticket_type=ticket_type.value if ticket_type else None,
        priority=priority.value if priority else None,
        assignee_id=ctx.actor if assignee_id == "me" else assignee_id,
        unassigned=unassigned,
        customer_id=customer_id,
        team_key=team_key,
        urgent=urgent,
        waiting=waiting,
        created_from=created_from,
        created_to=created_to,
        text=q,
    )
    found, total = await tickets.list_tickets(
        session, ctx, flt, page=page, page_size=page_size, queue_order=order is Order.QUEUE
    )
    clocks = await tickets.next_clocks(session, found)
    now = ctx.clock.now()
    items = [
        TicketListItemOut(
            **TicketOut.of(t).model_dump(),
            next_clock=NextClockOut.of(clocks[t.id], now) if t.id in clocks else None,
        )
        for t in found
    ]
    return TicketPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/{ticket_id}", response_model=TicketDetailOut)
async def get_ticket(ticket_id: uuid.UUID, session: SessionDep, ctx: Context) -> Response:
    return _answer(await tickets.get_ticket(session, ctx, ticket_id), ctx)


@router.get("/{ticket_id}/suggestions", response_model=list[KbArticleOut])
async def suggested_articles(
    ticket_id: uuid.UUID,
    session: SessionDep,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[KbArticleOut]:
    """Knowledge-base articles that may answer this ticket (from its title and description)."""
    found = await tickets.suggested_articles(session, ctx, ticket_id, limit)
    return [KbArticleOut.of(article) for article in found]


@router.patch("/{ticket_id}", response_model=TicketDetailOut)
async def update_ticket(
    ticket_id: uuid.UUID,
    body: TicketPatch,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = UpdateTicket(
        ticket_id=ticket_id,
        changes=body.changes(),
        expected_version=expected_version(body.version, if_match),
    )
    return _answer(await tickets.update_ticket(session, ctx, command), ctx)


@router.post("/{ticket_id}/assign", response_model=TicketDetailOut)
async def assign_ticket(
    ticket_id: uuid.UUID,
    body: AssignIn,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = AssignTicket(
        ticket_id=ticket_id,
        assignee_id=body.assignee_id,
        note=body.note,
        expected_version=expected_version(body.version, if_match),
    )
    return _answer(await tickets.assign_ticket(session, ctx, command), ctx)


@router.post("/{ticket_id}/log", response_model=TicketDetailOut)
async def log_on_ticket(
    ticket_id: uuid.UUID, body: LogIn, session: SessionDep, ctx: Context
) -> Response:
    command = LogOnTicket(
        ticket_id=ticket_id, note=body.note, contacted_customer=body.contacted_customer
    )
    return _answer(await tickets.log_on_ticket(session, ctx, command), ctx)


StateUseCase = Callable[[AsyncSession, RequestContext, ChangeTicketState], Awaitable[Any]]


def _state_route(action: str, use_case: StateUseCase, description: str) -> None:
    """``POST /{ticket_id}/<action>``: a state change carrying a note and the version read;
    the four of them differ only in their use case."""

    async def change_state(
        ticket_id: uuid.UUID,
        body: StateChangeIn,
        session: SessionDep,
        ctx: Context,
        if_match: IfMatch = None,
    ) -> Response:
        command = ChangeTicketState(
            ticket_id=ticket_id,
            note=body.note,
            expected_version=expected_version(body.version, if_match),
        )
        return _answer(await use_case(session, ctx, command), ctx)

    router.add_api_route(
        f"/{{ticket_id}}/{action}",
        change_state,
        methods=["POST"],
        response_model=TicketDetailOut,
        name=f"{action}_ticket",
        description=description,
    )


_state_route(
    "wait", tickets.wait_on_customer, "Waiting on the customer: the SLA clocks pause until /resume."
)
_state_route("resume", tickets.resume_ticket, "The customer answered: the clocks run again.")
_state_route(
    "close",
    tickets.close_ticket,
    "Close a resolved ticket; ``ticket.closed`` carries the satisfaction survey's link.",
)
_state_route(
    "reopen", tickets.reopen_ticket, "The customer says it is not fixed: back in progress."
)


@router.post("/{ticket_id}/resolve", response_model=TicketDetailOut)
async def resolve_ticket(
    ticket_id: uuid.UUID,
    body: ResolveIn,
    session: SessionDep,
    ctx: Context,
    if_match: IfMatch = None,
) -> Response:
    command = ResolveTicket(
        ticket_id=ticket_id,
        resolution=body.resolution,
        cause=body.cause,
        expected_version=expected_version(body.version, if_match),
    )
    return _answer(await tickets.resolve_ticket(session, ctx, command), ctx)
