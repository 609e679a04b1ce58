"""The ticket status machine (SPEC §3), as a pure function of the current status, the action
and who does it; no database, no clock.

pending_assignment 待分配 → in_progress 处理中 → resolved 已解决 → closed 已关闭, with reopen
from resolved back to in_progress. The rules (``docs/service-desk.md`` "Tickets"):

- ``assign`` hands a pending ticket to someone (it goes in progress) or moves an in-progress
  one to someone else; only a supervisor assigns, except that an agent may take a pending
  ticket for themselves.
- ``log`` (a note, or a contact with the customer, which is the first response) and
  ``wait``/``resume`` (waiting on the customer pauses the SLA clocks) need an in-progress
  ticket; a log line may also be added to a pending or resolved ticket, never a closed one.
- ``resolve`` needs an in-progress ticket and a resolution.
- ``close`` needs a resolved ticket; ``reopen`` takes a resolved ticket back in progress (the
  customer says it is not fixed). A closed ticket is final: a new problem is a new ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crm_platform.errors import Conflict, InvalidField
from crm_service_desk.domain.enums import TicketStatus


class TicketAction(StrEnum):
    ASSIGN = "assign"
    LOG = "log"
    WAIT = "wait"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


class IllegalTicketAction(Conflict):
    def __init__(self, action: TicketAction, status: TicketStatus, why: str) -> None:
        super().__init__(
            f"A ticket {status.value.replace('_', ' ')} cannot be {_PAST[action]}: {why}.",
            slug="illegal-ticket-action",
        )


_PAST = {
    TicketAction.ASSIGN: "assigned",
    TicketAction.LOG: "logged on",
    TicketAction.WAIT: "put on hold",
    TicketAction.RESUME: "resumed",
    TicketAction.RESOLVE: "resolved",
    TicketAction.CLOSE: "closed",
    TicketAction.REOPEN: "reopened",
}

PENDING, IN_PROGRESS, RESOLVED, CLOSED = (
    TicketStatus.PENDING_ASSIGNMENT,
    TicketStatus.IN_PROGRESS,
    TicketStatus.RESOLVED,
    TicketStatus.CLOSED,
)
# (status, action) → the status after it; a missing pair is illegal, with the reason.
TRANSITIONS: dict[tuple[TicketStatus, TicketAction], TicketStatus] = {
    (PENDING, TicketAction.ASSIGN): IN_PROGRESS,
    (IN_PROGRESS, TicketAction.ASSIGN): IN_PROGRESS,
    (PENDING, TicketAction.LOG): PENDING,
    (IN_PROGRESS, TicketAction.LOG): IN_PROGRESS,
    (RESOLVED, TicketAction.LOG): RESOLVED,
    (IN_PROGRESS, TicketAction.WAIT): IN_PROGRESS,
    (IN_PROGRESS, TicketAction.RESUME): IN_PROGRESS,
    (IN_PROGRESS, TicketAction.RESOLVE): RESOLVED,
    (RESOLVED, TicketAction.CLOSE): CLOSED,
    (RESOLVED, TicketAction.REOPEN): IN_PROGRESS,
}
WHY_NOT: dict[TicketAction, str] = {
    TicketAction.ASSIGN: "only pending and in-progress tickets are assigned",
    TicketAction.LOG: "a closed ticket is final",
    TicketAction.WAIT: "only an in-progress ticket waits on the customer",
    TicketAction.RESUME: "only an in-progress ticket waits on the customer",
    TicketAction.RESOLVE: "assign it first; only an in-progress ticket is resolved",
    TicketAction.CLOSE: "only a resolved ticket is closed",
    TicketAction.REOPEN: "only a resolved ticket is reopened (a closed one is final: open a "
    "new ticket)",
}


@dataclass(frozen=True)
class ActionFacts:
    """What the action carries that the rules look at."""

    resolution: str | None = None
    waiting: bool = False  # the ticket is waiting on the customer now


def decide(
    status: TicketStatus, action: TicketAction, facts: ActionFacts = ActionFacts()
) -> TicketStatus:
    """The status after ``action``, or the reason it is refused."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        raise IllegalTicketAction(action, status, WHY_NOT[action])
    if action is TicketAction.RESOLVE and not (facts.resolution or "").strip():
        raise InvalidField("resolution", "is required to resolve a ticket")
    if action is TicketAction.WAIT and facts.waiting:
        raise IllegalTicketAction(action, status, "it is already waiting on the customer")
    if action is TicketAction.RESUME and not facts.waiting:
        raise IllegalTicketAction(action, status, "it is not waiting on the customer")
    return after
