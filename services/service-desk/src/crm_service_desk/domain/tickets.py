"""Use cases on tickets (工单, SPEC §3): open, read, list, edit, assign, log, wait on the
customer, resolve, close (which sends the satisfaction survey) and reopen. Each runs in the
transaction its caller opened, keeps the ticket's SLA clocks in step (``domain.sla_clocks``)
and stages its events in the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_platform.errors import Conflict, Forbidden, InvalidField, NotFound, StaleVersion
from crm_platform.events.outbox import add_event
from crm_service_desk.db import ticket_repository as repo
from crm_service_desk.db.kb_models import KbArticle
from crm_service_desk.db.ticket_models import Callback, SlaClock, Ticket, TicketLogEntry
from crm_service_desk.db.ticket_repository import TicketFilter
from crm_service_desk.domain import access, kb, sla_clocks, surveys
from crm_service_desk.domain.assignment import Candidate, Choice, Strategy, choose_on_open
from crm_service_desk.domain.calendars import BusinessCalendar
from crm_service_desk.domain.commands import (
    AssignTicket,
    ChangeTicketState,
    LogOnTicket,
    OpenTicket,
    ResolveTicket,
    UpdateTicket,
)
from crm_service_desk.domain.context import RequestContext
from crm_service_desk.domain.enums import CALLBACK_TYPES, Priority, TicketStatus, TicketType
from crm_service_desk.domain.sla import ClockKind, targets_for
from crm_service_desk.domain.sla_settings import load_calendar, load_targets
from crm_service_desk.domain.ticket_status import ActionFacts, TicketAction, decide
from crm_service_desk.events import published as ev

EDITABLE = frozenset(
    {
        "title",
        "description",
        "ticket_type",
        "priority",
        "urgent",
        "mood",
        "cause",
        "contact_id",
        "channel",
    }
)
TITLE_MAX = 200


@dataclass(frozen=True)
class TicketDetail:
    ticket: Ticket
    log: list[TicketLogEntry]
    clocks: list[SlaClock]
    calendar: BusinessCalendar


def ticket_code(prefix: str, year: int, serial: int) -> str:
    """``FW2026001``: the prefix, the year, the year's serial of at least three digits."""
    return f"{prefix}{year}{serial:03d}"


def title_of(description: str) -> str:
    first = description.strip().splitlines()[0].strip() if description.strip() else ""
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"


def snapshot_of(ticket: Ticket) -> ev.TicketSnapshot:
    return ev.TicketSnapshot(
        id=str(ticket.id),
        code=ticket.code,
        customer_id=str(ticket.customer_id),
        customer_name=ticket.customer_name,
        contact_id=str(ticket.contact_id) if ticket.contact_id else None,
        title=ticket.title,
        ticket_type=ticket.ticket_type,
        complaint=ticket.ticket_type == TicketType.COMPLAINT,
        priority=ticket.priority,
        urgent=ticket.urgent,
        status=ticket.status,
        mood=ticket.mood,
        channel=ticket.channel,
        cause=ticket.cause,
        team_key=ticket.team_key,
        assignee_id=ticket.assignee_id,
        waiting_on_customer=ticket.waiting_since is not None,
        resolution=ticket.resolution,
        satisfaction=ticket.satisfaction,
        created_at=ticket.created_at,
        assigned_at=ticket.assigned_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        version=ticket.version,
    )


def publish(
    session: AsyncSession, ctx: RequestContext, routing_key: str, payload: Any, subject: uuid.UUID
) -> None:
    add_event(session, ev.build_event(routing_key, payload, subject=str(subject), actor=ctx.actor))


def _log(
    session: AsyncSession,
    ticket: Ticket,
    ctx: RequestContext,
    at: datetime,
    action: str,
    note: str | None = None,
    **details: Any,
) -> TicketLogEntry:
    entry = TicketLogEntry(
        ticket_id=ticket.id, at=at, actor_id=ctx.actor, action=action, note=note, details=details
    )
    session.add(entry)
    return entry


def _complaint_rules(ticket_type: TicketType, priority: Priority) -> tuple[Priority, bool]:
    """A complaint is always high priority and urgent (seed 000 §3.3)."""
    if ticket_type is TicketType.COMPLAINT:
        return Priority.HIGH, True
    return priority, False


def publish_alerts(
    session: AsyncSession,
    ctx: RequestContext,
    ticket: Ticket,
    late: list[SlaClock],
    at: datetime,
    supervisor_id: str | None,
) -> None:
    """``ticket.sla_breached`` for clocks stopped after their due moment before the checker
    saw them (``sla_clocks.stop`` marked them sent)."""
    for clock in late:
        publish(
            session,
            ctx,
            ev.TICKET_SLA_BREACHED,
            ev.SlaAlert(
                ticket_id=str(ticket.id),
                code=ticket.code,
                customer_id=str(ticket.customer_id),
                customer_name=ticket.customer_name,
                title=ticket.title,
                ticket_type=ticket.ticket_type,
                priority=ticket.priority,
                kind=clock.kind,
                round=clock.round,
                target_minutes=clock.target_seconds // 60,
                started_at=clock.started_at,
                due_at=clock.due_at,
                detected_at=at,
                assignee_id=ticket.assignee_id,
                supervisor_id=supervisor_id,
                team_key=ticket.team_key,
            ),
            ticket.id,
        )


# --------------------------------------------------------------------------- open


async def open_ticket(
    session: AsyncSession, ctx: RequestContext, command: OpenTicket
) -> TicketDetail:
    """Number and write a new ticket with its SLA clocks and first log line; a high-priority
    one goes to the team's supervisor at once, others to the team's strategy or the to-assign
    list. ``ticket.created`` (and ``ticket.assigned``)."""
    access.ensure_can_open(ctx.identity)
    scope = access.ticket_owner_scope(ctx.identity)
    customer = await repo.get_customer(session, command.customer_id)
    if customer is None or (scope is not None and customer.owner_id != scope):
        raise InvalidField("customer_id", "is not a customer known to you")
    if customer.archived:
        raise Conflict(
            f"Customer {customer.code} is archived; it takes no new tickets.",
            slug="customer-archived",
        )
    if command.mood is not None and command.ticket_type is not TicketType.COMPLAINT:
        raise InvalidField("mood", "is recorded for complaints only")
    team = await repo.get_team(session, command.team_key)
    if team is None:
        raise InvalidField("team_key", "is not a service team")
    priority, urgent = _complaint_rules(command.ticket_type, command.priority)
    calendar = await load_calendar(session, team.calendar_key)
    targets = targets_for(await load_targets(session), priority, command.ticket_type)
    choice = await _choose_assignee(session, team, priority, command.ticket_type)
    now = ctx.clock.now()
    if choice is not None:
        await repo.touch_agent(session, choice.assignee_id, now)
    year = now.astimezone(ZoneInfo(ctx.settings.timezone)).year
    # Everything but the number is made before it is taken: the serial's row lock, which
    # every create of the year waits on, is then held for the inserts and the commit only.
    ticket = Ticket(
        code="",
        year=year,
        serial=0,
        customer_id=customer.id,
        customer_name=customer.name,
        contact_id=command.contact_id,
        title=(command.title or "").strip() or title_of(command.description),
        description=command.description,
        ticket_type=command.ticket_type.value,
        priority=priority.value,
        status=TicketStatus.PENDING_ASSIGNMENT.value,
        urgent=urgent,
        mood=command.mood.value if command.mood else None,
        channel=command.channel.value,
        cause=command.cause,
        team_key=team.key,
        created_by=ctx.actor,
        created_at=now,
        updated_at=now,
    )
    clocks = sla_clocks.new_clocks(ticket, targets, now, calendar, ctx.settings.sla_warning_ratio)
    if choice is not None:
        ticket.status = TicketStatus.IN_PROGRESS.value
        ticket.assignee_id = choice.assignee_id
        ticket.assigned_at = now
        sla_clocks.stop(clocks, ClockKind.ASSIGN, now)
    ticket.serial = await repo.take_serial(session, year)
    ticket.code = ticket_code(ctx.settings.ticket_code_prefix, year, ticket.serial)
    session.add(ticket)
    session.add_all(clocks)
    log = [_log(session, ticket, ctx, now, "created", None, priority=priority.value, urgent=urgent)]
    if choice is not None:
        log.append(
            _log(
                session,
                ticket,
                ctx,
                now,
                "assigned",
                choice.reason,
                assignee_id=choice.assignee_id,
                automatic=True,
            )
        )
    await session.flush()
    publish(session, ctx, ev.TICKET_CREATED, snapshot_of(ticket), ticket.id)
    if choice is not None:
        publish(
            session,
            ctx,
            ev.TICKET_ASSIGNED,
            _assigned(ticket, None, choice.reason, automatic=True),
            ticket.id,
        )
    return TicketDetail(ticket, log, clocks, calendar)


async def _choose_assignee(
    session: AsyncSession, team: Any, priority: Priority, ticket_type: TicketType
) -> Choice | None:
    strategy = Strategy(team.strategy)
    candidates: list[Candidate] = []
    if strategy is not Strategy.MANUAL and not (priority is Priority.HIGH and team.supervisor_id):
        # The team row's lock makes two creates of the team pick one after the other, so
        # round robin does not give two tickets to the same agent at once.
        await repo.get_team(session, team.key, for_update=True)
        candidates = [
            Candidate(
                agent.user_id, frozenset(agent.ticket_types), open_count, agent.last_assigned_at
            )
            for agent, open_count in await repo.active_agents_of(session, team.key)
        ]
    return choose_on_open(
        priority,
        ticket_type,
        supervisor_id=team.supervisor_id,
        strategy=strategy,
        candidates=candidates,
    )


def _assigned(
    ticket: Ticket, previous: str | None, reason: str, *, automatic: bool
) -> ev.TicketAssigned:
    return ev.TicketAssigned(
        ticket=snapshot_of(ticket),
        assignee_id=ticket.assignee_id or "",
        previous_assignee_id=previous,
        automatic=automatic,
        reason=reason,
    )


# --------------------------------------------------------------------------- read


async def _load_visible(
    session: AsyncSession, ctx: RequestContext, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket:
    scope = access.ticket_owner_scope(ctx.identity)
    found = await repo.get_ticket(session, ticket_id, for_update=for_update)
    if found is None or (scope is not None and found[1] != scope):
        raise NotFound(f"No ticket {ticket_id}.")
    return found[0]


async def _detail(session: AsyncSession, ticket: Ticket) -> TicketDetail:
    team = await repo.get_team(session, ticket.team_key)
    calendar = await load_calendar(session, team.calendar_key if team else None)
    clocks = await repo.clocks_of(session, ticket.id)
    return TicketDetail(ticket, list(await repo.log_of(session, ticket.id)), clocks, calendar)


async def get_ticket(
    session: AsyncSession, ctx: RequestContext, ticket_id: uuid.UUID
) -> TicketDetail:
    return await _detail(session, await _load_visible(session, ctx, ticket_id))


async def list_tickets(
    session: AsyncSession,
    ctx: RequestContext,
    flt: TicketFilter,
    *,
    page: int,
    page_size: int,
    queue_order: bool = False,
) -> tuple[list[Ticket], int]:
    scope = access.ticket_owner_scope(ctx.identity)
    return await repo.list_tickets(
        session, flt, scope, offset=(page - 1) * page_size, limit=page_size, queue_order=queue_order
    )


async def next_clocks(session: AsyncSession, listed: Sequence[Ticket]) -> dict[uuid.UUID, SlaClock]:
    """Each listed ticket's clock that falls due first among those still counting (a paused
    one, which has no due moment that holds, only when nothing runs): what a queue shows."""
    found: dict[uuid.UUID, SlaClock] = {}
    for clock in await repo.open_clocks_of(session, [t.id for t in listed]):
        best = found.get(clock.ticket_id)
        if best is None or _sooner(clock, best):
            found[clock.ticket_id] = clock
    return found


def _sooner(clock: SlaClock, than: SlaClock) -> bool:
    if (clock.paused_at is None) != (than.paused_at is None):
        return clock.paused_at is None
    return clock.due_at < than.due_at


# --------------------------------------------------------------------------- change


@dataclass
class _Change:
    """A ticket loaded for a change: locked, its version checked, its clocks and calendar."""

    ticket: Ticket
    clocks: list[SlaClock]
    calendar: BusinessCalendar
    supervisor_id: str | None
    at: datetime


async def _load_for_change(
    session: AsyncSession, ctx: RequestContext, ticket_id: uuid.UUID, expected_version: int | None
) -> _Change:
    ticket = await _load_visible(session, ctx, ticket_id, for_update=True)
    if expected_version is not None and ticket.version != expected_version:
        raise StaleVersion(
            f"The ticket changed since you read it (you sent version {expected_version}, it is "
            f"now {ticket.version}); reload it and apply your change again.",
            current_version=ticket.version,
        )
    team = await repo.get_team(session, ticket.team_key)
    calendar = await load_calendar(session, team.calendar_key if team else None)
    clocks = await repo.clocks_of(session, ticket.id, for_update=True)
    return _Change(ticket, clocks, calendar, team.supervisor_id if team else None, ctx.clock.now())


async def _save(session: AsyncSession, change: _Change) -> None:
    change.ticket.updated_at = change.at
    session.add(change.ticket)
    session.add_all(change.clocks)
    try:
        await session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            "The ticket was changed by someone else meanwhile; reload it and apply your change "
            "again."
        ) from exc


async def _finish(
    session: AsyncSession, ctx: RequestContext, change: _Change, late: list[SlaClock]
) -> TicketDetail:
    await _save(session, change)
    publish_alerts(session, ctx, change.ticket, late, change.at, change.supervisor_id)
    # The change loaded the team's calendar and the clocks already: only the log is read.
    log = list(await repo.log_of(session, change.ticket.id))
    return TicketDetail(change.ticket, log, change.clocks, change.calendar)


async def update_ticket(
    session: AsyncSession, ctx: RequestContext, command: UpdateTicket
) -> TicketDetail:
    """Edit what the ticket says; a new type or priority re-aims its SLA clocks (a complaint
    stays high and urgent), and a ticket raised to high priority while waiting for
    assignment goes to the supervisor. ``ticket.updated``."""
    access.ensure_service_staff(ctx.identity, "edit tickets")
    changes = dict(command.changes)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidField(sorted(unknown)[0], "cannot be changed here")
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict(
            f"Ticket {ticket.code} is closed; it can no longer be edited.", slug="ticket-closed"
        )
    ticket_type = TicketType(changes.get("ticket_type", ticket.ticket_type))
    priority = Priority(changes.get("priority", ticket.priority))
    if ticket_type is TicketType.COMPLAINT and priority is not Priority.HIGH:
        if "priority" in changes:
            raise InvalidField("priority", "of a complaint is always high")
        priority = Priority.HIGH
    if ticket_type is TicketType.COMPLAINT:
        if changes.get("urgent") is False:
            raise InvalidField("urgent", "a complaint is always urgent")
        changes["urgent"] = True
    mood = changes.get("mood", ticket.mood)
    if mood is not None and ticket_type is not TicketType.COMPLAINT:
        if "mood" in changes:
            raise InvalidField("mood", "is recorded for complaints only")
        changes["mood"] = None
    before = {name: getattr(ticket, name) for name in EDITABLE}
    for name, value in changes.items():
        setattr(ticket, name, value.value if hasattr(value, "value") else value)
    ticket.priority = priority.value
    retargeted = (
        before["priority"] != ticket.priority or before["ticket_type"] != ticket.ticket_type
    )
    late: list[SlaClock] = []
    if retargeted:
        targets = targets_for(await load_targets(session), priority, ticket_type)
        sla_clocks.reaim(change.clocks, targets, change.at, change.calendar)
        change.clocks.extend(
            _missing_clocks(ticket, change, targets, ctx.settings.sla_warning_ratio)
        )
    changed = {k: v for k, v in before.items() if getattr(ticket, k) != v}
    _log(session, ticket, ctx, change.at, "updated", None, fields=sorted(changed))
    if (
        retargeted
        and priority is Priority.HIGH
        and ticket.status == TicketStatus.PENDING_ASSIGNMENT
        and change.supervisor_id
    ):
        _assign(
            session,
            ctx,
            change,
            change.supervisor_id,
            "high priority: assigned to the team's supervisor",
            automatic=True,
            late=late,
        )
    detail = await _finish(session, ctx, change, late)
    publish(session, ctx, ev.TICKET_UPDATED, snapshot_of(ticket), ticket.id)
    return detail


def _missing_clocks(
    ticket: Ticket, change: _Change, targets: dict[ClockKind, timedelta], warn_ratio: float
) -> list[SlaClock]:
    """Clocks the new targets ask for that the ticket never had, for steps not done yet,
    started when the ticket opened (a ticket made a complaint later is measured from then)."""
    had = {clock.kind for clock in change.clocks}
    pending = {
        ClockKind.ASSIGN: ticket.assigned_at is None,
        ClockKind.FIRST_RESPONSE: ticket.first_response_at is None,
        ClockKind.RESOLVE: ticket.resolved_at is None,
    }
    kinds = tuple(k for k in ClockKind if k.value not in had and pending[k])
    rows = sla_clocks.new_clocks(
        ticket, targets, ticket.created_at, change.calendar, warn_ratio, kinds=kinds
    )
    for row in rows:
        if ticket.waiting_since is not None:
            sla_clocks.pause([row], ticket.waiting_since, change.calendar)
    return rows


def _assign(
    session: AsyncSession,
    ctx: RequestContext,
    change: _Change,
    assignee_id: str,
    reason: str,
    *,
    automatic: bool,
    late: list[SlaClock],
) -> str | None:
    ticket = change.ticket
    previous = ticket.assignee_id
    ticket.status = decide(TicketStatus(ticket.status), TicketAction.ASSIGN).value
    ticket.assignee_id = assignee_id
    if ticket.assigned_at is None:
        ticket.assigned_at = change.at
    late.extend(sla_clocks.stop(change.clocks, ClockKind.ASSIGN, change.at))
    _log(
        session,
        ticket,
        ctx,
        change.at,
        "assigned",
        reason,
        assignee_id=assignee_id,
        previous_assignee_id=previous,
        automatic=automatic,
    )
    return previous


async def assign_ticket(
    session: AsyncSession, ctx: RequestContext, command: AssignTicket
) -> TicketDetail:
    """A supervisor assigns (or reassigns) a ticket; an agent may take a pending one for
    themselves. The assignee must be an active agent or a team's supervisor.
    ``ticket.assigned``."""
    access.ensure_service_staff(ctx.identity, "assign tickets")
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    if command.assignee_id == ticket.assignee_id:
        raise Conflict(
            f"Ticket {ticket.code} is already assigned to {command.assignee_id}.",
            slug="already-assigned",
        )
    if not access.is_supervisor(ctx.identity):
        taking = (
            command.assignee_id == ctx.actor and ticket.status == TicketStatus.PENDING_ASSIGNMENT
        )
        if not taking:
            raise Forbidden(
                "An agent may only take a pending ticket for themselves; a supervisor assigns."
            )
    await _ensure_assignable(session, command.assignee_id)
    late: list[SlaClock] = []
    reason = command.note or (
        "taken by the agent" if command.assignee_id == ctx.actor else "assigned by a supervisor"
    )
    previous = _assign(
        session, ctx, change, command.assignee_id, reason, automatic=False, late=late
    )
    await repo.touch_agent(session, command.assignee_id, change.at)
    detail = await _finish(session, ctx, change, late)
    publish(
        session,
        ctx,
        ev.TICKET_ASSIGNED,
        _assigned(ticket, previous, reason, automatic=False),
        ticket.id,
    )
    return detail


async def _ensure_assignable(session: AsyncSession, user_id: str) -> None:
    agent = await repo.get_agent(session, user_id)
    if agent is not None and agent.active:
        return
    if any(team.supervisor_id == user_id for team in await repo.list_teams(session)):
        return
    raise InvalidField("assignee_id", "is not an active agent or a team's supervisor")


async def log_on_ticket(
    session: AsyncSession, ctx: RequestContext, command: LogOnTicket
) -> TicketDetail:
    """Append to the processing log. A contact with the customer by service staff is the
    ticket's first response (its clock stops); sales staff who see the ticket may add notes."""
    if command.contacted_customer:
        access.ensure_service_staff(ctx.identity, "record contacts with the customer")
    change = await _load_for_change(session, ctx, command.ticket_id, None)
    ticket = change.ticket
    decide(TicketStatus(ticket.status), TicketAction.LOG)
    late: list[SlaClock] = []
    if command.contacted_customer and ticket.first_response_at is None:
        ticket.first_response_at = change.at
        late = sla_clocks.stop(change.clocks, ClockKind.FIRST_RESPONSE, change.at)
    _log(
        session,
        ticket,
        ctx,
        change.at,
        "contacted" if command.contacted_customer else "note",
        command.note,
    )
    return await _finish(session, ctx, change, late)


async def wait_on_customer(
    session: AsyncSession, ctx: RequestContext, command: ChangeTicketState
) -> TicketDetail:
    """The ticket waits on the customer (information, a visit date …): its clocks pause."""
    access.ensure_service_staff(ctx.identity)
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    decide(
        TicketStatus(ticket.status),
        TicketAction.WAIT,
        ActionFacts(waiting=ticket.waiting_since is not None),
    )
    ticket.waiting_since = change.at
    sla_clocks.pause(change.clocks, change.at, change.calendar)
    _log(session, ticket, ctx, change.at, "waiting", command.note)
    detail = await _finish(session, ctx, change, [])
    publish(session, ctx, ev.TICKET_UPDATED, snapshot_of(ticket), ticket.id)
    return detail


async def resume_ticket(
    session: AsyncSession, ctx: RequestContext, command: ChangeTicketState
) -> TicketDetail:
    """The customer answered: the clocks run again from where they stood."""
    access.ensure_service_staff(ctx.identity)
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    decide(
        TicketStatus(ticket.status),
        TicketAction.RESUME,
        ActionFacts(waiting=ticket.waiting_since is not None),
    )
    ticket.waiting_since = None
    sla_clocks.resume(change.clocks, change.at, change.calendar)
    _log(session, ticket, ctx, change.at, "resumed", command.note)
    detail = await _finish(session, ctx, change, [])
    publish(session, ctx, ev.TICKET_UPDATED, snapshot_of(ticket), ticket.id)
    return detail


async def resolve_ticket(
    session: AsyncSession, ctx: RequestContext, command: ResolveTicket
) -> TicketDetail:
    """Resolve with the resolution (required); stops the first-response and resolve clocks, and
    schedules the callback of a repair or visit. ``ticket.resolved`` (engagement writes a
    resolved complaint onto the customer's follow-up history)."""
    access.ensure_service_staff(ctx.identity, "resolve tickets")
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    decide(
        TicketStatus(ticket.status),
        TicketAction.RESOLVE,
        ActionFacts(resolution=command.resolution),
    )
    late: list[SlaClock] = []
    if ticket.first_response_at is None:
        ticket.first_response_at = change.at
    late += sla_clocks.stop(change.clocks, ClockKind.FIRST_RESPONSE, change.at)
    late += sla_clocks.stop(change.clocks, ClockKind.RESOLVE, change.at)
    ticket.status = TicketStatus.RESOLVED.value
    ticket.resolution = command.resolution.strip()
    ticket.cause = command.cause or ticket.cause
    ticket.resolved_at = change.at
    ticket.resolved_by = ctx.actor
    ticket.waiting_since = None
    _log(session, ticket, ctx, change.at, "resolved", ticket.resolution)
    if TicketType(ticket.ticket_type) in CALLBACK_TYPES:
        due = change.at + timedelta(days=ctx.settings.callback_after_days)
        session.add(
            Callback(
                ticket_id=ticket.id,
                assignee_id=ticket.assignee_id or ctx.actor,
                due_at=due,
                created_at=change.at,
            )
        )
        _log(session, ticket, ctx, change.at, "callback_scheduled", None, due_at=due.isoformat())
    detail = await _finish(session, ctx, change, late)
    publish(session, ctx, ev.TICKET_RESOLVED, snapshot_of(ticket), ticket.id)
    return detail


async def close_ticket(
    session: AsyncSession, ctx: RequestContext, command: ChangeTicketState
) -> TicketDetail:
    """Close a resolved ticket and send the satisfaction survey: ``ticket.closed`` carries
    the signed, single-use link the notifier sends the customer."""
    access.ensure_service_staff(ctx.identity, "close tickets")
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    ticket.status = decide(TicketStatus(ticket.status), TicketAction.CLOSE).value
    ticket.closed_at = change.at
    _log(session, ticket, ctx, change.at, "closed", command.note)
    link = surveys.issue(session, ctx, ticket, change.at)
    detail = await _finish(session, ctx, change, [])
    publish(
        session,
        ctx,
        ev.TICKET_CLOSED,
        ev.TicketClosed(ticket=snapshot_of(ticket), survey=link),
        ticket.id,
    )
    return detail


async def reopen_ticket(
    session: AsyncSession, ctx: RequestContext, command: ChangeTicketState
) -> TicketDetail:
    """The customer says it is not fixed: back in progress with a new resolve clock (round 2
    …), a pending callback cancelled. ``ticket.reopened``."""
    access.ensure_service_staff(ctx.identity, "reopen tickets")
    change = await _load_for_change(session, ctx, command.ticket_id, command.expected_version)
    ticket = change.ticket
    ticket.status = decide(TicketStatus(ticket.status), TicketAction.REOPEN).value
    ticket.resolved_at = None
    ticket.resolved_by = None
    ticket.reopen_count += 1
    targets = targets_for(
        await load_targets(session), Priority(ticket.priority), TicketType(ticket.ticket_type)
    )
    change.clocks.extend(
        sla_clocks.new_clocks(
            ticket,
            targets,
            change.at,
            change.calendar,
            ctx.settings.sla_warning_ratio,
            kinds=(ClockKind.RESOLVE,),
            round_=sla_clocks.next_round(change.clocks, ClockKind.RESOLVE),
        )
    )
    cancelled = await repo.cancel_callbacks(session, ticket.id, change.at)
    _log(session, ticket, ctx, change.at, "reopened", command.note, callbacks_cancelled=cancelled)
    detail = await _finish(session, ctx, change, [])
    publish(session, ctx, ev.TICKET_REOPENED, snapshot_of(ticket), ticket.id)
    return detail


async def suggested_articles(
    session: AsyncSession, ctx: RequestContext, ticket_id: uuid.UUID, limit: int = 5
) -> list[KbArticle]:
    """Knowledge-base articles for the ticket's title and description (for whoever may see
    the ticket)."""
    ticket = await _load_visible(session, ctx, ticket_id)
    return await kb.suggest_articles(session, f"{ticket.title}\n{ticket.description}", limit)
