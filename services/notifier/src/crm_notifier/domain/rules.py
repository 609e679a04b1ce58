"""Which event becomes which notification, to whom (SPEC §4): a plan per event, read from
the event's ``data`` (tolerant reader: only the fields needed) and, for "the managers" or
"the supervisors", from the user replica. ``domain.notify`` renders and delivers the plans.

| event | kind | to |
|---|---|---|
| `reminder.due` | reminder | its recipient |
| `ticket.assigned` | ticket_assigned | the assignee |
| `ticket.sla_warning` | sla_warning | the team's supervisor (else all) and the assignee |
| `ticket.sla_breached` | sla_breached (urgent) | the same |
| `ticket.closed` | survey | the ticket's contact, else the customer's primary contact |
| `ticket.callback_due` | callback_due | the assignee |
| `customer.owner_changed` | owner_changed | the new owner |
| `change_request.created` | change_request | every sales manager |
| `opportunity.won` | opportunity_won | every sales manager |
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from crm_notifier.db import repository as repo
from crm_notifier.domain.kinds import Category, Kind
from crm_platform.events import CloudEvent

SALES_MANAGER = "sales_manager"
SERVICE_SUPERVISOR = "service_supervisor"
ADMIN = "admin"


@dataclass(frozen=True)
class Recipient:
    kind: str  # user | contact
    id: str


@dataclass(frozen=True)
class Plan:
    kind: Kind
    recipients: tuple[Recipient, ...]
    facts: dict[str, Any] = field(default_factory=dict)
    link: str | None = None
    category: Category = Category.TRANSACTIONAL
    # The console's page of what it is about ("/tickets/<id>"), made a link by the notifier
    # with its CRM_CONSOLE_URL when the plan carries no link of its own (a survey's).
    page: str | None = None


def page_of(kind: str, record_id: object) -> str | None:
    """The console's page of a record (``tickets``, ``customers``, ``opportunities``)."""
    return f"/{kind}/{record_id}" if record_id else None


def _users(*ids: str | None) -> tuple[Recipient, ...]:
    seen: list[str] = []
    for user_id in ids:
        if user_id and user_id not in seen:
            seen.append(user_id)
    return tuple(Recipient("user", user_id) for user_id in seen)


async def _role(session: AsyncSession, role: str) -> tuple[Recipient, ...]:
    return _users(*(user.id for user in await repo.users_with_role(session, role)))


async def admins(session: AsyncSession) -> tuple[Recipient, ...]:
    return await _role(session, ADMIN)


async def reminder_due(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    facts = {k: data.get(k) for k in ("title", "due_at", "customer_id", "late")}
    page = page_of("customers", data.get("customer_id")) or "/my-day"
    return [Plan(Kind.REMINDER, _users(data.get("recipient_id")), facts, page=page)]


async def ticket_assigned(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    ticket = data.get("ticket", {})
    facts = {k: ticket.get(k) for k in ("code", "title", "customer_name", "priority")}
    facts["reason"] = data.get("reason")
    page = page_of("tickets", ticket.get("id"))
    return [Plan(Kind.TICKET_ASSIGNED, _users(data.get("assignee_id")), facts, page=page)]


async def _sla(session: AsyncSession, data: dict[str, Any], kind: Kind) -> list[Plan]:
    facts = {k: data.get(k) for k in ("code", "title", "customer_name", "due_at", "priority")}
    facts["clock"] = data.get("kind")
    supervisors = _users(data.get("supervisor_id")) or await _role(session, SERVICE_SUPERVISOR)
    recipients = _users(*(r.id for r in supervisors), data.get("assignee_id"))
    return [Plan(kind, recipients, facts, page=page_of("tickets", data.get("ticket_id")))]


async def sla_warning(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    return await _sla(session, data, Kind.SLA_WARNING)


async def sla_breached(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    return await _sla(session, data, Kind.SLA_BREACHED)


async def ticket_closed(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    ticket, survey = data.get("ticket", {}), data.get("survey") or {}
    contact = None
    if ticket.get("contact_id"):
        contact = await repo.get_contact(session, uuid.UUID(ticket["contact_id"]))
    if contact is None and ticket.get("customer_id"):
        contact = await repo.primary_contact(session, uuid.UUID(ticket["customer_id"]))
    if contact is None or not survey.get("url"):
        return []
    facts = {k: ticket.get(k) for k in ("code", "title", "customer_name")}
    facts["expires_at"] = survey.get("expires_at")
    return [Plan(Kind.SURVEY, (Recipient("contact", str(contact.id)),), facts, survey["url"])]


async def callback_due(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    facts = {k: data.get(k) for k in ("code", "title", "customer_name", "due_at")}
    page = page_of("tickets", data.get("ticket_id"))
    return [Plan(Kind.CALLBACK_DUE, _users(data.get("assignee_id")), facts, page=page)]


async def owner_changed(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    customer = data.get("customer", {})
    facts = {
        "customer_code": customer.get("code"),
        "customer_name": customer.get("name"),
        "reason": data.get("reason"),
    }
    page = page_of("customers", customer.get("id"))
    return [Plan(Kind.OWNER_CHANGED, _users(data.get("owner_id")), facts, page=page)]


async def change_request_created(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    facts = {
        "customer_code": data.get("customer_code"),
        "customer_name": data.get("customer_name"),
        "fields": sorted((data.get("changes") or {}).keys()),
    }
    managers = await _role(session, SALES_MANAGER)
    return [Plan(Kind.CHANGE_REQUEST, managers, facts, page="/customers/change-requests")]


async def opportunity_won(session: AsyncSession, data: dict[str, Any]) -> list[Plan]:
    facts = {
        "code": data.get("code"),
        "customer_id": data.get("customer_id"),
        "amount": data.get("actual_amount"),
        "owner_id": data.get("owner_id"),
    }
    managers = await _role(session, SALES_MANAGER)
    page = page_of("opportunities", data.get("id"))
    return [Plan(Kind.OPPORTUNITY_WON, managers, facts, page=page)]


Rule = Callable[[AsyncSession, dict[str, Any]], Awaitable[list[Plan]]]
RULES: dict[str, Rule] = {
    "reminder.due": reminder_due,
    "ticket.assigned": ticket_assigned,
    "ticket.sla_warning": sla_warning,
    "ticket.sla_breached": sla_breached,
    "ticket.closed": ticket_closed,
    "ticket.callback_due": callback_due,
    "customer.owner_changed": owner_changed,
    "change_request.created": change_request_created,
    "opportunity.won": opportunity_won,
}


async def plans_for(session: AsyncSession, event: CloudEvent) -> list[Plan]:
    rule = RULES.get(event.routing_key)
    return [] if rule is None else await rule(session, event.data)
