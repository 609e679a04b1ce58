"""Who a new ticket goes to, table-driven over the team's strategy and its agents."""

from datetime import UTC, datetime

import pytest

from crm_service_desk.domain.assignment import Candidate, Strategy, choose_on_open
from crm_service_desk.domain.enums import Priority, TicketType

T = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
TECH = TicketType.TECH_SUPPORT


def agent(user_id: str, open_tickets: int = 0, last: int | None = None, types=(TECH,)) -> Candidate:
    at = None if last is None else T.replace(minute=last)
    return Candidate(user_id, frozenset(t.value for t in types), open_tickets, at)


BUSY_A = [agent("a", open_tickets=3, last=1), agent("b", open_tickets=1, last=5)]

# (priority, type, supervisor, strategy, candidates, expected assignee or None)
CASES = [
    (Priority.HIGH, TECH, "sup", Strategy.MANUAL, [], "sup"),
    (Priority.HIGH, TECH, "sup", Strategy.ROUND_ROBIN, BUSY_A, "sup"),  # high beats strategy
    (Priority.HIGH, TECH, None, Strategy.MANUAL, BUSY_A, None),  # no supervisor: waits
    (Priority.HIGH, TECH, None, Strategy.LEAST_BUSY, BUSY_A, "b"),
    (Priority.MEDIUM, TECH, "sup", Strategy.MANUAL, BUSY_A, None),  # the to-assign list
    (Priority.MEDIUM, TECH, None, Strategy.ROUND_ROBIN, BUSY_A, "a"),  # longest since last
    (Priority.MEDIUM, TECH, None, Strategy.LEAST_BUSY, BUSY_A, "b"),  # fewest open
    (Priority.LOW, TECH, None, Strategy.ROUND_ROBIN, [agent("a", last=1), agent("b")], "b"),
    (Priority.LOW, TECH, None, Strategy.ROUND_ROBIN, [agent("b"), agent("a")], "a"),  # tie: id
    (Priority.LOW, TECH, None, Strategy.LEAST_BUSY, [agent("a", 1, 9), agent("b", 1, 2)], "b"),
    (
        Priority.LOW,
        TicketType.COMPLAINT,
        None,
        Strategy.ROUND_ROBIN,
        BUSY_A,
        None,  # nobody handles the type
    ),
    (
        Priority.LOW,
        TicketType.CONSULTATION,
        None,
        Strategy.LEAST_BUSY,
        [*BUSY_A, agent("c", 7, types=(TicketType.CONSULTATION,))],
        "c",
    ),
]


@pytest.mark.parametrize(
    ("priority", "ticket_type", "supervisor", "strategy", "pool", "expected"), CASES
)
def test_choose_on_open(priority, ticket_type, supervisor, strategy, pool, expected) -> None:
    choice = choose_on_open(
        priority, ticket_type, supervisor_id=supervisor, strategy=strategy, candidates=pool
    )
    assert (choice.assignee_id if choice else None) == expected
    if choice:
        assert choice.reason
