"""Who a new ticket goes to (SPEC §3): a pure choice over the team's rules and its agents.

- A high-priority ticket (every complaint is one) goes to the team's supervisor at once.
- Otherwise a team working ``manual`` leaves it in the to-assign list for a supervisor, who
  assigns by type; ``round_robin`` gives it to the agent handling its type who was given a
  ticket longest ago (never one first), ``least_busy`` to the one with the fewest open tickets
  (ties: longest since their last ticket). No agent handles the type: it waits for a
  supervisor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from crm_service_desk.domain.enums import Priority, TicketType


class Strategy(StrEnum):
    MANUAL = "manual"
    ROUND_ROBIN = "round_robin"
    LEAST_BUSY = "least_busy"


@dataclass(frozen=True)
class Candidate:
    user_id: str
    ticket_types: frozenset[str]
    open_tickets: int
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class Choice:
    assignee_id: str
    reason: str


_NEVER = datetime.min.replace(tzinfo=UTC)


def choose_on_open(
    priority: Priority,
    ticket_type: TicketType,
    *,
    supervisor_id: str | None,
    strategy: Strategy,
    candidates: Sequence[Candidate],
) -> Choice | None:
    """The assignee of a new ticket, or None: it waits in the to-assign list."""
    if priority is Priority.HIGH and supervisor_id:
        return Choice(supervisor_id, "high priority: assigned to the team's supervisor")
    if strategy is Strategy.MANUAL:
        return None
    eligible = [c for c in candidates if ticket_type.value in c.ticket_types]
    if not eligible:
        return None
    if strategy is Strategy.ROUND_ROBIN:
        chosen = min(eligible, key=lambda c: (c.last_assigned_at or _NEVER, c.user_id))
        return Choice(chosen.user_id, "round robin among the agents handling this type")
    chosen = min(eligible, key=lambda c: (c.open_tickets, c.last_assigned_at or _NEVER, c.user_id))
    return Choice(chosen.user_id, "least busy of the agents handling this type")
